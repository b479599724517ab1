"""Knowledge and RAG: knowledge bases and documents (`bases`), text extraction (`extract`), chunking (`chunking`),
vector stores (`vectors`, `vector_databases`, `milvus_lite_process`), ingestion (`ingest`), the embeddings explorer
(`embeddings`), RAG retrieval and answers (`rag`), their evaluation (`evaluation`) and the knowledge-search tool
(`search_tool`).

May import: `services.core`, `services.models`, `services.tools`, `services.prompts`, `services.chat`. Model calls
(embeddings, answers) go through `services.models.calls`.
"""
