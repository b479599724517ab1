"""Names of activity-log actions, shared by the features that record them and the rules that read them."""

SIGN_UP = 'sign_up'
SIGN_IN = 'sign_in'
CHAT = 'chat'  # details: conversation_id; columns: model, host, tokens, latency_ms, error
CHAT_COMPARE = 'chat_compare'
MODEL_PULL = 'model_pull'
MODEL_CREATE = 'model_create'
MODEL_COPY = 'model_copy'
MODEL_DELETE = 'model_delete'
MODEL_UNLOAD = 'model_unload'
PROMPT_CREATE = 'prompt_create'  # details: prompt_id, variables (count)
PROMPT_RUN = 'prompt_run'
PROMPT_BATCH = 'prompt_batch'
TOOL_CALL = 'tool_call'  # details: tool, ok
DOCUMENT_UPLOAD = 'document_upload'
INGEST_JOB = 'ingest_job'
EMBED = 'embed'
RAG_QUERY = 'rag_query'  # details: rag_id, retrieved
RAG_EVAL = 'rag_eval'
API_CALL = 'api_call'
WORKSHOP_JOIN = 'workshop_join'  # details: new_account; workshop_id set
WORKSHOP_EXPORT = 'workshop_export'  # details: format
WORKSHOP_TEMPLATE_EXPORT = 'workshop_template_export'  # details: documents; workshop_id set
WORKSHOP_TEMPLATE_IMPORT = 'workshop_template_import'  # details: created, skipped; workshop_id: the new one
