from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "knowledge_bases" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "description" TEXT NOT NULL,
    "visibility" VARCHAR(16) NOT NULL /* PRIVATE: private\nWORKSHOP: workshop\nPUBLIC: public */,
    "workshop_id" INT,
    "embedding_model" VARCHAR(200) NOT NULL,
    "dimension" INT,
    "metric" VARCHAR(16) NOT NULL,
    "splitter" VARCHAR(16) NOT NULL,
    "chunk_size" INT NOT NULL,
    "chunk_overlap" INT NOT NULL,
    "collection" VARCHAR(120),
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_knowledge_b_worksho_151155" ON "knowledge_bases" ("workshop_id");
        CREATE TABLE IF NOT EXISTS "documents" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "original_name" VARCHAR(255) NOT NULL,
    "stored_name" VARCHAR(80) NOT NULL UNIQUE,
    "mime" VARCHAR(100) NOT NULL,
    "size" INT NOT NULL,
    "sha256" VARCHAR(64) NOT NULL,
    "state" VARCHAR(16) NOT NULL /* UPLOADED: uploaded\nPARSED: parsed\nCHUNKED: chunked\nEMBEDDED: embedded\nFAILED: failed */,
    "error" TEXT,
    "text_name" VARCHAR(80),
    "chars" INT NOT NULL,
    "chunk_count" INT NOT NULL,
    "embedded_sha256" VARCHAR(64),
    "embedded_model" VARCHAR(200),
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "kb_id" INT NOT NULL REFERENCES "knowledge_bases" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_documents_sha256_54f837" ON "documents" ("sha256");
        CREATE TABLE IF NOT EXISTS "chunks" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kb_id" INT NOT NULL,
    "index" INT NOT NULL,
    "text" TEXT NOT NULL,
    "metadata" JSON NOT NULL,
    "document_id" INT NOT NULL REFERENCES "documents" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_chunks_documen_7c3ccc" UNIQUE ("document_id", "index")
);
CREATE INDEX IF NOT EXISTS "idx_chunks_kb_id_2de15c" ON "chunks" ("kb_id");
        CREATE TABLE IF NOT EXISTS "ingest_jobs" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" INT,
    "state" VARCHAR(16) NOT NULL /* QUEUED: queued\nRUNNING: running\nDONE: done\nCANCELLED: cancelled\nFAILED: failed */,
    "rebuild" INT NOT NULL,
    "docs_total" INT NOT NULL,
    "docs_done" INT NOT NULL,
    "docs_failed" INT NOT NULL,
    "docs_skipped" INT NOT NULL,
    "chunks_done" INT NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "started_at" TIMESTAMP,
    "finished_at" TIMESTAMP,
    "kb_id" INT NOT NULL REFERENCES "knowledge_bases" ("id") ON DELETE CASCADE
);
        CREATE TABLE IF NOT EXISTS "rag_systems" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "kb_ids" JSON NOT NULL,
    "embedding_model" VARCHAR(200) NOT NULL,
    "chat_model" VARCHAR(200) NOT NULL,
    "prompt_template" TEXT NOT NULL,
    "top_k" INT NOT NULL,
    "threshold" REAL NOT NULL,
    "document_ids" JSON NOT NULL,
    "visibility" VARCHAR(16) NOT NULL /* PRIVATE: private\nWORKSHOP: workshop\nPUBLIC: public */,
    "workshop_id" INT,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_rag_systems_worksho_8b0ac3" ON "rag_systems" ("workshop_id");
        CREATE TABLE IF NOT EXISTS "eval_sets" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "questions" JSON NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "rag_id" INT NOT NULL REFERENCES "rag_systems" ("id") ON DELETE CASCADE
);
        CREATE TABLE IF NOT EXISTS "eval_runs" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "rag_id" INT NOT NULL,
    "summary" JSON NOT NULL,
    "results" JSON NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "eval_set_id" INT NOT NULL REFERENCES "eval_sets" ("id") ON DELETE CASCADE
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "eval_sets";
        DROP TABLE IF EXISTS "ingest_jobs";
        DROP TABLE IF EXISTS "documents";
        DROP TABLE IF EXISTS "rag_systems";
        DROP TABLE IF EXISTS "chunks";
        DROP TABLE IF EXISTS "eval_runs";
        DROP TABLE IF EXISTS "knowledge_bases";"""


MODELS_STATE = (
    "eJztXW1zozgS/iuUP81UZVOJ8zK51NVWOY5nxjuJnfPLztZutijZKLbWWLAgksntzX8/CZ"
    "t3QZADxDD6ZktqEE8LqfvpRvqntTY0qNuHUxtarUvlnxYGa0h/RMoPlBYwzaCUFRAw092G"
    "Dm3hloCZTSwwJ7TwAeg2pEUatOcWMgkyMC3Fjq6zQmNOGyK8CIocjP52oEqMBSRLtyN//E"
    "mLEdbgN2h7f82V+oCgrkX6iTR2b7dcJc+mW9bH5KPbkN1tps4N3VnjoLH5TJYG9lsjTFjp"
    "AmJoAQLZ5YnlsO6z3m0f03uiTU+DJpsuhmQ0+AAcnYQed6YGZS1VHQwn6rg3UdWWAEBzAz"
    "NwaVdt9+kXrAs/tY9PP5xenJyfXtAmbjf9kg/fN7cOgNkIuvAMJq3vbj0gYNPCxTgAFa4B"
    "0pO4dpfA4gPrC8SwpZ2OY+shub/grsE3VYd4QZYM0bPTDCh/7Yy6nzujd7TVe3ZLg74Am9"
    "disK1qb+oY3gG+GrJNHTyr7n8BmONyxaDtFQRwB+9v5XhfHOWA++IoFW1WFQXbBLb9ZFia"
    "ugT2UgTthOBOcG+H7n6i3T47yzW6zzJG91kccMvQU0Z1DztrF+s+7RPAc5jA3JOtbmS3AC"
    "GQ1nt9yYt4q3N92x9cKkBbI3yP+4PxZDTtToajSwUxxJ05Max73JlMeoPrXo82DN9HUE/H"
    "5znUdHyeqiVWFVUSslW6VqNHjqauDKoEgFOW0LBcTEszKliWmrwVoIRXIgPaq+Hwhl15bd"
    "t/625BfxLDeHp71aPYu9DTRojA8BobAD63IINEBSSJ+DWtIWgN+ZBHJWOYa1vRQ+9HHVcA"
    "+oDaEOvPWz1nKGTSv+2NJ53bu4hWrjuTHqtpu6XPsdJ38ffCv4jytT/5rLC/yu/DQc+F17"
    "DJwnLvGLSb/N5ifQIOMVRsPKlACxklXqmHWkTrjqntqPWopNT6vmjdwyik9m3vA63rwCaq"
    "biwQ3kHxCeECdL9nRkh9Vb15w5k3+rAKuU6sYAbmqydAzcVITTAo3GUTkWfOgruV/PhlBH"
    "XggplU+9Yh72yv0nuESb+1NpoPSnmvz4pirUNtAdUZsKH9OsC+eBe7oteq4TSZCzELLFT7"
    "2SZw/Uq0RmAxdq/TVKTgI9BVG5JX4tSjlxnDPC9gbVBic5jRNtJmtWTVur2OlwAMFu4jsX"
    "uzO3FnLQ7PmJjW0glHbx5VIWubj3psDTFUyJLiogCFMZaKhrRD5auFmFOmGNQKodWW4SyW"
    "Cq19RHNoH3o38js33tQcxj244q9eMCF6hRY/Cif6r3b75ORD++jk/OLs9MOHs4sjnxxNVm"
    "WxpFf9T8yJi9gVLzOnTKubeSMvyxRIlMV5vB15ep6HOz1Pp07PE8zpk2Gt7KVhqkK8f0zq"
    "5cG+kyFVvwhAbBoWGba+QANJ0aM8HDRtlU6KHiVY6CV1O0Tw9do3D96TXPCeZMB7koSXGC"
    "uIOTZd6pQQCJQ0G1SLcMHTATV/IZ4/qzx34qNugBRQo2IxYB+YXP2gzcDteji9uukpd6Ne"
    "tz/uDwdRcsKtjLLCo17nJoY0tCzDSoI8gd9SMPYFmjAzZBFBvd8mEQ7Ie//f3XZ+ex+B+m"
    "Y4+OQ1D80X3ZvhVTzwCglAOmdQ/zIeDlJiroFInIhDc6L8T9GRXZof2Pr3g4NdA1GZOUgn"
    "CNuH7LY/CwarilAIgyhbIXHsD6JsG7tAXCH1iopUauHVkx7PFRShTrCYAR+SkMv1ZrlOcN"
    "BRfDnrtmFBtMBf4HMiBM/nuLzcr3phm8ZvHTCW9MknTMJDij46fWC4WaPp/ZXB9Iau0+mk"
    "fqlUmWmOISGbR0zyZEHtQSZJZpqM5WQNczJk4zXQdcVyMJsuFU9WIUtANjkOtjJfAryACs"
    "K0FCrTvvIOHi4OlaelS1IphgmxYtMh9pNjKshWDPw+SZWVd5tXcGYryInKpPtm2+aNy3Ur"
    "iq5Jp8cege5wMk7SrS9foHrb623M3lKsLJmF0DQzKy0LQSAyXeYiFg26ctaxRFQ2fSnjRI"
    "NlqnmtTNWsFUE0BbrBqc/H7TzEKG2VnubZThCj4Z4lYE5nmWJiFabjvgGzUQrV9IhsNEM6"
    "N+EnXy509AoVqsC00CO9pqAmWnej/q902btUtvL3+Otw9GX8eXh3qXgRuHt8N7266XdpI2"
    "emo3ncP3ibZGgZVSwnjADXM6hp9I6qcHyRI9rAKb+UUKNGLXFscyf81LEckZEUGydADun9"
    "5iIjOJCocOruDsf9jTNRgb1S+DxsmzpLmeKQl+kwh2UqBNqGmMU6RRfJvYF6vnTwSrXRfz"
    "nWd+osERXaaZrYCe2z43ZNpokNQsYjtHRgCiMbkqsO3PPTumBr6DoUzq+LSjUhaF6B11iv"
    "sKwkDF8mDOXHaj+i1vN8rGY8YdFwfFikuoVqz72FjIC8i1cS37Ii8vuGbt6QfHhYRWLy3c"
    "6427nuZYXkQ+6vMXfW3pchu3/hc729TIPwjrz2fxmzVyLUxwtok1+MWZMgKjMq5g8pTkAs"
    "PNzSY2GRsS2jYLVaHw4yomCGhRYIA114R6CEYBNJ0jI2qbEJXXw1YbxjYo1LASp++6U1Ek"
    "PYa9/AgXyci+0/zmD7j5NsvyCFVz15t/fTcgjLJWifnQvNB76E/Hrz5a83qX9Ddt4azBeu"
    "kOV3TN0AGvT0njsUPr27GVKH5fpS8a5wj+86ozErMYFls//dz9PBF1bgcr+spHd71bt2pT"
    "bRT1b2sdO/YSUPAOnbfrx57EB+s1RlIgmhsArbKRGhJqBetpkyp1CKfD/qt69uIT2qySq6"
    "iWXNDQdzeOQXImC+lISVn0xDnQ9xK4Uj2rw5oXhzxYdtx+ylsGTz8C4ld0kGHtPRr2cISg"
    "Yef0St5wk8rmZiUUe/veQuXg45rmYFxBubunfiQSzw6I+s3aOOrvn6yoBal12jQTCXGkzb"
    "gMWJpPkopofRAmUVG0P7ww/QtTxttP58TWBNbtzH6qrYuG/vFqP6hTdDQ9kd+fnB9NvLlZ"
    "2DJuPyRNhWr30jImhVs61rSACbJJKAp29SEJaRe0Rlq2SH3Qu8NVVsgo5JyZnlZZ8hbLy8"
    "0nNoYPbcQcxpiA0wUdehTNs4yMzj2MeRtL10Gxm5zVQvTVAmm9XqLc8ydeX2a0WnjdQtrY"
    "E2dcSTGv4z7U1ZKsJG+h6PpoNBf/Dpku3mhSne9/h6OOhdKpqB4T3udgbd3o2buzBnD67r"
    "+5rOYEFmN/G876yD0EJSFR6D5pfU9hw01g+6FhDACahlGXMhIRkb5oLK3jtRTD0ZCSkX0m"
    "CaEgE1kJKwcmG1V8g0xXENiUlguVk3wpNATErCmsi6kbmOFbJvMv0jfWDXMxEgT/oHdYGs"
    "3bQelZQHZe5PtkdSyw8II3u5k5pjolLP+6znvYuk1o5bkmk9b5zWUyY3H5ywyuHmI8evpn"
    "PzseNeJTdfq9f7IIObl9shl7uxlTslCJ3/FEjsR2if3a8xoX25QeybfGSxBEQc8KiUxDof"
    "1qZlrE2i0qXa1LlRwnQmiSPaCNQr/4DWMNWVgK3it6/OIanLFpxkSSfzpcELlmYcCxqR2v"
    "FU0N1I5sOyaOYM1Io4FTSUWyR2WGVMTposhZss8lwHea7Dywpq9rkOMkyTDnVzwzTyK92m"
    "aZ3D58vtgasn9eX2wLno/GK2B4aPQGdH477yW90evcwY1nEwv8nXuh5cnJhHCMn0iEdEaz"
    "LeUauZ70DGO94s3kGf02bdEmIRIkKSQiicQpDuU/orUU9DOo/7JA3p4okIlgghhGggIPGU"
    "jklljklszBYAaSRTqKG4Bi/r7u6e5fBsH1FPb+TgBuFcuqfH4Erx9LZIvuDpeVqTnl6tlp"
    "KDDE9PLtXFmj62s14DixOETPfrQiL74dU1apsaWkX7L+Roh0T2QyHSzZZuds3dbI8pFlts"
    "YlJyxXnZOfQgK8CZaV4w5SDmysTG1z59kNKBFpovWxx7fVuTaa6DoI201ev0ZmfZ6o/Qsg"
    "WPWQ+JNDA2U8oRhOylEkB427yB6JZyLh69I+HuZZhujodEqjfH3ybhvjDDO2EoVLmYff8/"
    "CpOgyA=="
)
