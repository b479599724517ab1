"""/api/v1/rag: RAG systems over knowledge bases; retrieval with scores and reasons, answers with citations (NDJSON
with "stream": true), recorded in the activity log like the RAG page; model calls are quota-checked first."""

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_params, paginate
from api.problems import problem_responses
from api.schemas import Deleted
from api.streaming import Streaming, ndjson, primed
from services.knowledge.rag import DEFAULT_TEMPLATE, MAX_TOP_K, Retrieval
from services.wiring import Services

MODEL_ERRORS = (401, 404, 422, 429, 502, 503, 504)


class RagOut(BaseModel):
    id: int
    owner_id: int
    name: str
    kb_ids: list[int]
    embedding_model: str
    chat_model: str
    prompt_template: str
    top_k: int
    threshold: float
    document_ids: list[int] = Field(description='When not empty: only these documents are searched.')
    visibility: str
    workshop_id: int | None
    can_edit: bool
    retrieval_mode: str = Field(description='dense (vectors), keyword (BM25) or hybrid (both, fused).')
    fusion: str = Field(description='hybrid: rrf (reciprocal rank fusion) or weighted.')
    rrf_k: int
    dense_weight: float = Field(description='weighted fusion: the dense share (keyword: 1 minus it).')
    candidates: int = Field(description='Passages each retriever returns before fusion.')
    rerank: bool = Field(description='A chat model reranks the fused candidates.')
    rerank_model: str = Field(description='Empty: the chat model.')
    rerank_candidates: int = Field(description='Candidates the reranker scores; top-k of them are kept.')


class RagIn(BaseModel):
    name: str = Field(max_length=120, examples=['Course QA'])
    kb_ids: list[int] = Field(min_length=1, max_length=20, description='The knowledge bases to search.')
    chat_model: str = Field(min_length=1, max_length=200, examples=['llama3.2'])
    embedding_model: str | None = Field(None, max_length=200, description="Empty: the first knowledge base's model.")
    prompt_template: str = Field(DEFAULT_TEMPLATE, max_length=20_000, description='Must hold {context} and {question}.')
    top_k: int = Field(4, ge=1, le=MAX_TOP_K)
    threshold: float = Field(0.0, ge=-1.0, le=1.0, description='Passages scoring below are dropped.')
    document_ids: list[int] = []
    visibility: Literal['private', 'workshop', 'public'] = 'private'
    workshop_id: int | None = None
    retrieval_mode: Literal['dense', 'keyword', 'hybrid'] = 'dense'
    fusion: Literal['rrf', 'weighted'] = 'rrf'
    rrf_k: int = Field(60, ge=1, le=1000)
    dense_weight: float = Field(0.5, ge=0.0, le=1.0)
    candidates: int = Field(10, ge=1, le=100)
    rerank: bool = False
    rerank_model: str = Field('', max_length=200)
    rerank_candidates: int = Field(10, ge=1, le=100)


class PassageOut(BaseModel):
    number: int = Field(description='The citation number [n] when kept, else 0.')
    chunk_id: int
    document_id: int
    document_name: str
    kb_id: int
    index: int = Field(description='The chunk number within its document.')
    text: str
    score: float
    kept: bool
    reason: str = Field(description='Why the passage was kept or dropped (rank, top-k, threshold).')
    dense_rank: int | None = Field(None, description='Its rank in vector search (None: not found by it).')
    dense_score: float | None = None
    keyword_rank: int | None = Field(None, description='Its rank in keyword (BM25) search (None: not found by it).')
    keyword_score: float | None = None
    fused_score: float | None = Field(None, description='hybrid: the fused score.')
    rerank_score: float | None = Field(None, description="The reranker's rating (0-10) when reranking is on.")


class RetrievalOut(BaseModel):
    question: str
    query: str
    passages: list[PassageOut]
    top_k: int
    threshold: float
    latency_ms: float
    notes: list[str]
    mode: str = Field(description='How it retrieved, e.g. "hybrid (rrf) + rerank".')


class QuestionIn(BaseModel):
    question: str = Field(min_length=1, max_length=4000, examples=['What do llamas carry?'])


class AskIn(QuestionIn):
    stream: bool = Field(False, description='Stream the answer as NDJSON (one JSON object per line).')


class AnswerOut(BaseModel):
    question: str
    answer: str
    citations: list[PassageOut] = Field(description='The passages the answer cites as [n].')
    passages: list[PassageOut] = Field(description='Every passage given to the model as context.')
    notes: list[str]


class AnswerChunk(BaseModel):
    type: Literal['delta', 'done']
    content: str | None = Field(None, description='"delta": the next piece of the answer.')
    answer: str | None = Field(None, description='"done": the whole answer.')
    citations: list[PassageOut] | None = None
    passages: list[PassageOut] | None = None
    latency_ms: float | None = None
    error: str | None = Field(None, description='Set on a final line when the answer broke off.')


class EvaluationIn(BaseModel):
    name: str = Field('', max_length=120)
    questions: list[dict[str, Any]] = Field(
        min_length=1, max_length=200, description='[{"question", "expected_document", "expected_keywords": [...]}]'
    )
    answers: bool = Field(True, description='False: score retrieval only (faster, no chat model calls).')


class QuestionResultOut(BaseModel):
    question: str
    expected_document: str | None
    expected_keywords: list[str]
    retrieved: list[str]
    hit: bool | None
    reciprocal_rank: float | None
    keyword_match: float | None
    answer: str
    ndcg: float | None = None


class EvaluationOut(BaseModel):
    set_id: int
    run_id: int | None
    rag_id: int
    rag_name: str
    k: int
    hit_rate: float | None
    mrr: float | None
    keyword_match: float | None
    ndcg: float | None = None
    mode: str = ''
    results: list[QuestionResultOut]


def _cited(retrieval: Retrieval, numbers: list[int]) -> list:
    return [p for p in retrieval.kept if p.number in numbers]


async def _answer_lines(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    """The service's events as NDJSON lines: deltas, then one final line with the answer and its citations."""
    retrieval: Retrieval | None = None
    try:
        async for event in events:
            if event['type'] == 'retrieval':
                retrieval = event['retrieval']
            elif event['type'] == 'token':
                yield {'type': 'delta', 'content': event['text']}
            elif event['type'] == 'done' and retrieval is not None:
                yield {
                    'type': 'done',
                    'answer': event['answer'],
                    'citations': [
                        PassageOut.model_validate(p, from_attributes=True).model_dump()
                        for p in _cited(retrieval, event['cited'])
                    ],
                    'passages': [
                        PassageOut.model_validate(p, from_attributes=True).model_dump() for p in retrieval.kept
                    ],
                    'latency_ms': round(event['latency_ms'], 1),
                }
    finally:
        await events.aclose()  # type: ignore[attr-defined]


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1/rag', tags=['RAG'])
    actor = Authenticator(services)
    rag, evals = services.rag, services.evals
    one = problem_responses(401, 404)

    @router.get(
        '',
        summary='List RAG systems you can see (yours, shared and public)',
        response_model=Page[RagOut],
        responses=problem_responses(401),
    )
    async def list_systems(user: Annotated[Actor, Depends(actor)], page: Annotated[PageParams, Depends(page_params)]):
        return paginate(await rag.list_systems(user.id), page)

    @router.post(
        '',
        summary='Create a RAG system over knowledge bases you can read',
        response_model=RagOut,
        status_code=201,
        responses=problem_responses(401, 404, 422),
    )
    async def create_system(body: RagIn, user: Annotated[Actor, Depends(actor)]):
        return await rag.create(user.id, **body.model_dump())

    @router.get('/{rag_id}', summary='One RAG system', response_model=RagOut, responses=one)
    async def get_system(rag_id: int, user: Annotated[Actor, Depends(actor)]):
        return await rag.get(user.id, rag_id)

    @router.delete(
        '/{rag_id}',
        summary='Delete a RAG system (owner only)',
        response_model=Deleted,
        responses=problem_responses(401, 403, 404),
    )
    async def delete_system(rag_id: int, user: Annotated[Actor, Depends(actor)]):
        await rag.delete(user.id, rag_id)
        return Deleted()

    @router.post(
        '/{rag_id}/retrieve',
        summary='Retrieval only: the passages found, their scores and why each was kept or dropped',
        response_model=RetrievalOut,
        responses=problem_responses(*MODEL_ERRORS),
    )
    async def retrieve(rag_id: int, body: QuestionIn, user: Annotated[Actor, Depends(actor)]):
        return await rag.retrieve(user.id, rag_id, body.question)

    @router.post(
        '/{rag_id}/ask',
        summary='Answer a question from the knowledge bases with [n] citations (set "stream": true for NDJSON)',
        response_model=AnswerOut,
        responses={
            200: {
                'description': 'The answer; with "stream": true, NDJSON deltas then a final line with the citations.',
                'content': {'application/x-ndjson': {'schema': AnswerChunk.model_json_schema()}},
            },
            **problem_responses(*MODEL_ERRORS),
        },
    )
    async def ask(rag_id: int, body: AskIn, user: Annotated[Actor, Depends(actor)]):
        if body.stream:
            events = await primed(rag.ask(user.id, rag_id, body.question))
            return Streaming(ndjson(_answer_lines(events), dict), media_type='application/x-ndjson')
        retrieval, answer, cited = await rag.answer(user.id, rag_id, body.question)
        return {
            'question': retrieval.question,
            'answer': answer,
            'citations': _cited(retrieval, cited),
            'passages': retrieval.kept,
            'notes': retrieval.notes,
        }

    @router.post(
        '/{rag_id}/evaluations',
        summary='Evaluate a RAG system on a question set (saved as your question set and run)',
        response_model=EvaluationOut,
        status_code=201,
        responses=problem_responses(*MODEL_ERRORS),
    )
    async def evaluate(rag_id: int, body: EvaluationIn, user: Annotated[Actor, Depends(actor)]):
        saved = await evals.create_set(user.id, rag_id, body.name, body.questions)
        return await evals.run(user.id, saved.id, answers=body.answers)

    return router
