"""Names of activity-log actions, shared by the features that record them and the rules that read them; and how a
page names each one to people (`LABELS`, marked for the catalogues: a page shows `_(label(action))`)."""

from services.core.i18n import N_

SIGN_UP = 'sign_up'
SIGN_IN = 'sign_in'
CHAT = 'chat'  # details: conversation_id; columns: model, host, tokens, latency_ms, error
CHAT_COMPARE = 'chat_compare'
CONVERSATION_EXPORT = 'conversation_export'  # details: format, conversations (count)
CONVERSATION_IMPORT = 'conversation_import'  # details: conversations (count created)
MODEL_PULL = 'model_pull'
MODEL_CREATE = 'model_create'  # details: base, system (first 2000 characters)
MODEL_COPY = 'model_copy'
MODEL_DELETE = 'model_delete'
MODEL_UNLOAD = 'model_unload'
PROMPT_CREATE = 'prompt_create'  # details: prompt_id, variables (count)
PROMPT_RUN = 'prompt_run'  # details: prompt_id, version, run_id, output (first 2000 characters)
PROMPT_BATCH = 'prompt_batch'
TOOL_CALL = 'tool_call'  # details: tool, kind, ok, arguments (JSON text, first 2000 characters)
DOCUMENT_UPLOAD = 'document_upload'
INGEST_JOB = 'ingest_job'
KB_REINDEX = 'kb_reindex'  # details: kb_id, job_id, state, rows (copied for keyword search, not re-embedded)
EMBED = 'embed'
RAG_QUERY = 'rag_query'  # details: rag_id, retrieved, retrieval_ms, cited (document names)
RAG_EVAL = 'rag_eval'  # details: rag_id, set_id, k, questions, hit_rate, mrr, keyword_match
API_CALL = 'api_call'
WORKSHOP_JOIN = 'workshop_join'  # details: new_account; workshop_id set
WORKSHOP_EXPORT = 'workshop_export'  # details: format
ARENA_ANSWER = 'arena_answer'  # one model's answer in a blind arena battle; details: battle_id, side
ARENA_VOTE = 'arena_vote'  # details: battle_id, vote (a, b, tie, bad), model_a, model_b
GALLERY_SUBMIT = 'gallery_submit'  # details: step_id, kind

# details that are what a person produced (kept for the exercise checks of workshop steps): shown to that person and
# admins only, never to instructors (dashboard feed, drill-down, activity API)
PRIVATE_DETAILS = frozenset({'output', 'system', 'arguments'})
WORKSHOP_RESUME = 'workshop_resume'  # details: via (resume_code, device); workshop_id set
WORKSHOP_MERGE = 'workshop_merge'  # details: kept, merged (user ids); by the instructor who merged
WORKSHOP_TEMPLATE_EXPORT = 'workshop_template_export'  # details: documents; workshop_id set
WORKSHOP_TEMPLATE_IMPORT = 'workshop_template_import'  # details: created, skipped; workshop_id: the new one

# what a page calls each action (English: the name with spaces)
LABELS = {
    SIGN_UP: N_('sign up'),
    SIGN_IN: N_('sign in'),
    CHAT: N_('chat'),
    CHAT_COMPARE: N_('chat compare'),
    CONVERSATION_EXPORT: N_('conversation export'),
    CONVERSATION_IMPORT: N_('conversation import'),
    MODEL_PULL: N_('model pull'),
    MODEL_CREATE: N_('model create'),
    MODEL_COPY: N_('model copy'),
    MODEL_DELETE: N_('model delete'),
    MODEL_UNLOAD: N_('model unload'),
    PROMPT_CREATE: N_('prompt create'),
    PROMPT_RUN: N_('prompt run'),
    PROMPT_BATCH: N_('prompt batch'),
    TOOL_CALL: N_('tool call'),
    DOCUMENT_UPLOAD: N_('document upload'),
    INGEST_JOB: N_('ingest job'),
    KB_REINDEX: N_('kb reindex'),
    EMBED: N_('embed'),
    RAG_QUERY: N_('rag query'),
    RAG_EVAL: N_('rag eval'),
    API_CALL: N_('api call'),
    WORKSHOP_JOIN: N_('workshop join'),
    WORKSHOP_EXPORT: N_('workshop export'),
    ARENA_ANSWER: N_('arena answer'),
    ARENA_VOTE: N_('arena vote'),
    GALLERY_SUBMIT: N_('gallery submit'),
    WORKSHOP_RESUME: N_('workshop resume'),
    WORKSHOP_MERGE: N_('workshop merge'),
    WORKSHOP_TEMPLATE_EXPORT: N_('workshop template export'),
    WORKSHOP_TEMPLATE_IMPORT: N_('workshop template import'),
}


def label(action: str) -> str:
    """The English name of an action for people (to be passed to `_()`): known ones are in the catalogues."""
    return LABELS.get(action, action.replace('_', ' '))
