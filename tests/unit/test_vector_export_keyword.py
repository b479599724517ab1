"""A backup keeps the chunk texts of a collection with keyword search, and the restore searches by keyword again."""

from __future__ import annotations

from pathlib import Path

from pymilvus import MilvusClient

from services.knowledge import vector_export
from services.knowledge.vectors import VectorStore


def test_keyword_collection_round_trip(tmp_path: Path) -> None:
    source = MilvusClient(str(tmp_path / 'source.db'))
    VectorStore._create(source, 'kb_1', 4, 'COSINE', 'm', True)
    VectorStore._create(source, 'kb_2', 4, 'COSINE', 'm', False)  # from before keyword search
    texts = ['alpacas have soft wool', 'llamas carry packs', 'error E4471 means overheating']
    source.insert('kb_1', [{'id': i, 'doc_id': i, 'vector': [0.1, 0.2, 0.3, float(i)], 'text': t}
                           for i, t in enumerate(texts)])  # fmt: skip
    source.insert('kb_2', [{'id': 9, 'doc_id': 9, 'vector': [1.0, 0.0, 0.0, 0.0]}])
    entries = [{'name': n, 'model': 'm', 'metric': 'COSINE'} for n in ('kb_1', 'kb_2')]
    written = vector_export.export(source, entries, tmp_path / 'vectors')
    source.close()
    assert [(w['name'], w['keyword'], w['rows']) for w in written] == [('kb_1', True, 3), ('kb_2', False, 1)]
    target = MilvusClient(str(tmp_path / 'target.db'))
    assert vector_export.restore(target, written, tmp_path / 'vectors') == 4
    found = target.search('kb_1', data=['E4471'], anns_field='sparse', limit=1, output_fields=['text'],
                          search_params={'metric_type': 'BM25'})  # fmt: skip
    assert found[0][0]['entity']['text'] == texts[2]
    assert not any(f['name'] == 'text' for f in target.describe_collection('kb_2')['fields'])
    target.close()
