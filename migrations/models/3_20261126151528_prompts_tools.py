from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "http_allowed_hosts" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "host" VARCHAR(253) NOT NULL,
    "port" INT,
    "allow_private" INT NOT NULL,
    "note" VARCHAR(200) NOT NULL,
    "created_by_id" INT,
    "created_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_http_allowe_host_047ebe" UNIQUE ("host", "port")
) /* A host that HTTP tools may call (admin-managed). `allow_private` is the explicit, unsafe exception that lets */;
        CREATE TABLE IF NOT EXISTS "prompts" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "description" TEXT NOT NULL,
    "tags" JSON NOT NULL,
    "visibility" VARCHAR(16) NOT NULL /* PRIVATE: private\nWORKSHOP: workshop\nPUBLIC: public */,
    "workshop_id" INT,
    "current_version" INT NOT NULL,
    "forked_from_id" INT,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
) /* A prompt template; its content lives in numbered versions, `current_version` says which one is in use. */;
CREATE INDEX IF NOT EXISTS "idx_prompts_visibil_85af8e" ON "prompts" ("visibility");
CREATE INDEX IF NOT EXISTS "idx_prompts_worksho_471459" ON "prompts" ("workshop_id");
        CREATE TABLE IF NOT EXISTS "prompt_versions" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "number" INT NOT NULL,
    "system_template" TEXT NOT NULL,
    "user_template" TEXT NOT NULL,
    "variables" JSON NOT NULL,
    "default_model" VARCHAR(200) NOT NULL,
    "options" JSON NOT NULL,
    "message" VARCHAR(200) NOT NULL,
    "author_id" INT,
    "created_at" TIMESTAMP NOT NULL,
    "prompt_id" INT NOT NULL REFERENCES "prompts" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_prompt_vers_prompt__1e78f7" UNIQUE ("prompt_id", "number")
);
        CREATE TABLE IF NOT EXISTS "prompt_runs" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" INT NOT NULL,
    "batch_id" VARCHAR(36),
    "row_index" INT,
    "values" JSON NOT NULL,
    "system_prompt" TEXT NOT NULL,
    "user_prompt" TEXT NOT NULL,
    "model" VARCHAR(200) NOT NULL,
    "options" JSON NOT NULL,
    "output" TEXT NOT NULL,
    "error" TEXT,
    "metrics" JSON NOT NULL,
    "rating" INT,
    "created_at" TIMESTAMP NOT NULL,
    "prompt_id" INT NOT NULL REFERENCES "prompts" ("id") ON DELETE CASCADE,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
) /* One rendered prompt sent to one model, with what came back. Owned by the user who ran it. */;
CREATE INDEX IF NOT EXISTS "idx_prompt_runs_batch_i_666c11" ON "prompt_runs" ("batch_id");
        CREATE TABLE IF NOT EXISTS "tools" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(64) NOT NULL,
    "description" TEXT NOT NULL,
    "parameters" JSON NOT NULL,
    "kind" VARCHAR(16) NOT NULL /* BUILTIN: builtin\nHTTP: http\nSTATIC: static */,
    "config" JSON NOT NULL,
    "visibility" VARCHAR(16) NOT NULL /* PRIVATE: private\nWORKSHOP: workshop\nPUBLIC: public */,
    "workshop_id" INT,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
) /* A declarative tool: a JSON-schema signature and one implementation kind with its configuration (no code). */;
CREATE INDEX IF NOT EXISTS "idx_tools_visibil_8b609d" ON "tools" ("visibility");
CREATE INDEX IF NOT EXISTS "idx_tools_worksho_19c964" ON "tools" ("workshop_id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "tools";
        DROP TABLE IF EXISTS "prompts";
        DROP TABLE IF EXISTS "prompt_versions";
        DROP TABLE IF EXISTS "prompt_runs";
        DROP TABLE IF EXISTS "http_allowed_hosts";"""


MODELS_STATE = (
    "eJztXW1z2rgW/isaPqUzaSaBkmZz79wZSOiW2wQyhLQ72+y4wiigiS15bTmU2dv/fiXZxu"
    "/ETsEQV98SSQfJj96OnnN09E/DpFNkOEd3DrIb5+CfBoEm4n/E0g9BA1pWmCoSGJwYsqDL"
    "S8gUOHGYDXXGEx+g4SCeNEWObmOLYUp4KnENQyRSnRfEZBYmuQT/7SKN0Rlic9mQr3/xZE"
    "ym6Dtygn+tR+0BI2MaayeeirplusaWlkzrE/ZBFhS1TTSdGq5JwsLWks0pWZXGhInUGSLI"
    "hgyJn2e2K5ovWud/ZvBFXkvDIl4TIzJT9ABdg0U+d6KFaQ1NGwzH2m1vrGmNEgDplAhweV"
    "Md+fUz0YS3zZN379+dtU7fnfEispmrlPc/vKpDYDxBCc9g3Pgh8yGDXgmJcQgqMiE20rhe"
    "zKGdDexKIIEtb3QS2wDJ/QXXhN81A5EZmwtE2+/WQPm5M7r42Bkd8FJvRJWUTwBvWgz8rK"
    "aXJ/AO8Z1ixzLgUpP/l4A5KbcZtIOEEO5w/laO99lxAbjPjnPRFllxsC3oOAtqT7U5dOZl"
    "0E4Jvghuf+juJ9rNdrvQ6G6vGd3tJOA2NXJGdY+4psS6z9sEiY5SmAey1Y3sBmQM8fygLU"
    "URb3Qur/uDcwCnJib3pD+4HY/uLsbD0TnAAnFXZ9S+J53xuDe47PV4wWg9Jfvp5LRAN52c"
    "5vaSyIp3EnY0vlfjp4ye6lLeCZDkbKFRuUQvTbjgtrop2AG2MCXWQNsdDq/EL5uO87chE/"
    "rjBMZ3190ex15CzwthhqJ7bAi4biMBiQZZGvFLnsOwibIhj0smMJ/6okfBH69xB+AfOB0S"
    "Y+n385oOGfeve7fjzvVNrFcuO+OeyGnK1GUi9SA5L1Y/Ar70xx+B+Bf8ORz0JLzUYTNb1h"
    "iWG//ZEG2CLqMaoQsNTiNKSZAaoBbrddeavrDX45Kq1/el1wOMIt3utz7sdQM6TDPoDJMX"
    "dHxKeAN9v2dKyOvtam+Gi9Pow2Pk6CQSJlB/XECuLsZywkEht03Mlhkbri/54dMIGVCCme"
    "52/0De8X+l94TS59ZX0/Nhatb0sWxqWsz5OaBu5I+8wnWxBESa7ZKNwDRySV2RYlwp/UmM"
    "xlvUa3cBj1itaJPmrV/pLLNpJlMggTP5SaJuUVPm+pTBKKYWsHxqMVgxNSTKFiMZG0OCAJ"
    "tzXAAEgpsEUzw9Al9sLI5fgHJ9g2fb1J3NAc99wjpyjoKKVo279XKOkme1zf/6hqnPLp79"
    "Kuznb81mq/W+edw6PWu/e/++fXa8okHTWev40G7/d3Fci2kQz3Okole9RaMonxRKbIvd2B"
    "1NelqEJT3NJ0lPUxzpgtqPzpxaWimGPyH1/GB/kcr0+rj+xDJcZtiuBGpIfx4XYZt5qXz6"
    "8zjFN8/5AaMMvkH5+sHbKgRvaw28rTS8jD6iLKU3d0kIBba0GlSL8IaXA677IqIvNTMD0g"
    "8GhTmgxsUSwD4IudcH7RrcLod33aseuBn1Lvq3/eEgTkPIzDj/O+p1rhJII9umdhrkMfqe"
    "g/FKoA4rwzrKp/fHOMb2BPP/4Lrzx5sY1FfDwe9B8ch6cXE17CZNrIhBnHXw++/tcJBjXQ"
    "1FkpQb1hn4HzCwszVCofHvB5dIBRFMXGwwTJwjUe1/SpqlNtEhAqL1HZLE/jDOq4kfSHbI"
    "67J/VKrhvU4ivJD5gx+CyynwEQm1XXvbdYptjuObsW9TG+EZ+YSWKWN7NsEVeHm9Lmzz+C"
    "2ebMPFijCJDin+6fyDkbdH8/rB4O6K79P59P1WqTLLukWMeZ+Y5snC3MO1JJllaY5XsCBD"
    "dmtCwwC2S8RyCQJZwOaQed4MDtDnkMwQwISnInDXBwfoaHYEFnNJUgFqIQIcPsTeuhbADq"
    "DkTZoq2141P8GZPaIM+0v+2cwvXjuvtk3RNfn02BM03AzfknztayVQve61G7V3K1qW8jeo"
    "m5qV529Qwga9zU3MN7NmbGChATZ/84pYep/ftzrAKw4YMi1BQPwLYMY3EUoYIoyvEE/IEX"
    "sJcc0JstEUPCHb4bLOIfimu7bNC2l+0jfgwKXDNxqsz/m2gsTuwiW5ppDex6qrVrnB75cb"
    "fFn37Bq7ZZ80i1C5vFS+C2ozReVGW5aCOZ8XS4hV6Cq8Ay5mK+QYg7NSzFhQfj9oMVFfbW"
    "ixJ+zgCTYy/cKKuczHf6Ey0zLfu/ET/8mSHdG4GfU/c5XpHPjy9+TLcPTp9uPw5hwE1tt7"
    "cnPXvepf8ELuxMB6ck/ejcu8skhvxwSVUJJKYJsh+SJ8X7Q0nbwSeB/4AOTnugeuxJYbuW"
    "lBxciqex31P3Grex2/Yq8XuddBF6SsPSsqUt3etOfr5xqLlsSrOpPWvqFb1KYVHVYxo9ZF"
    "5/aic9lbZ9OKHD58piqNd/krBJ9DHawmmMcvNaubFlVfJYiPq1yGOTLwniOateiA32y8kq"
    "9+FQ3ZkYIJbvylyNtdkrdeJxQHNhRQ+3TGOcdZOgyZWmAEKUPYZogq0rY0aSvdWF4Cf0pQ"
    "gV8a/CdoYwFEKdo8JqS4841z5/4HaKWvtKQEazAjKrjZQmWjSk2BiMh+TIBa+VSbyHG47l"
    "xm6EdE1KAvMuihy1EqSfrEZBRprkjz+tOnRUhz/xBeairFZNTB7HkCNaQhfpJBrV0AlcME"
    "hxobWmVJ1O0TX4IpzCW9fBrxWcIroC2Lxc2wRYBC4cLoezw6wsGRUemqKOs4BAvM5mAhfP"
    "h13i4gPvgIDBeEC02W0o1fhsVYzCmwIQGYZcfQ2FpNyodyv2i48k4dO3Hm2HuEQ0QnkOnz"
    "zE00X+uPymzpNvHuLrO0inh6tfI9vVopTy+bqzXyy0oM25iM0vnT41Ze8CnJnwUSijvYOH"
    "fgk/J56uKzbH4oWAMeYSdcfnnoE2IK+NLAVxz9aO90EUUS/3ILPXWZ5ZZaZkIJtcKUXmFU"
    "mJ9K13PE26OXWm0iImq12fhqwwHzQ1YUPTetBNShSRlKlKGkkWSmlaFkQ3Op+mBUdURUmZ"
    "6qMT0lR+4GYK35nYi8OF87tubJ1wMyDHnBqwL5NrzV0wVFYqNMkW5AoUw9ISAEzwEEQkF7"
    "6+hzZEIZRwsy10YAkqkXfMS0DGQiwuTFBfDIu9czuvnhTR7wzLW9vANCecoUZYT5qrRmZd"
    "3bL+ueipCyxQj4KjzKjkgFi69mJt887FK8QlxKUQsbpxbENpG92DwfJCWQ3eeFp9G961+N"
    "xZuifv/dk4/j8c05mDNm3RN+phyLkCiO2DX3JCSKt1eXmSWhhJohG58hKpiQCib02lx5FG"
    "FaGdT1JUxVOJa69XqAkQrHosKx7A7dKsKxbJN77BgGXaDpR/HEWNYbA5Hsw3VMpDiBaNAr"
    "rYkHywrTkqKwF/NfnGUkP+gAEy6BLl4HOJAPAbz12//mCHyTlWi+OvdNBEgWnv7ou8U1N8"
    "wOgUsc+CASdCRr8X6bw+1kMJPVVX5PBK8p6ju3qM0AX+SoIflQYFBqid4E1A7UVMDXOF7C"
    "QY7/4gEMXgsF1HsLwRFXHkyozzHJpz6/hm/H8TpVvJGdUqGVPvu3b+tkwq+w3SriV9hu5f"
    "sVirwEKSeGePFhGxRXTiXpM1JsmUtj2uXLJIIkG9eUbALgyRbfyl6lVEvVdIfDq5hG3O0n"
    "SeS7625vdHAix3P4CGAaeUKzAF9jL6G1idhSgetxcIKfLMsdClJyatFQxEr9j9h5xErqOL"
    "ijswuysT5vZB1bvJy1JxYYltlonD+lY+/jZeL8HTT/NnE9NO12IU27vUbTbqci3vBJVQJh"
    "v3gN0T0ppKScrFFSTjKUFO/dqJI200BEPY5X0jy6083sx/8B2NHQ4g=="
)
