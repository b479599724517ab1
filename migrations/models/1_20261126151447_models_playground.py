from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "ollama_hosts" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "label" VARCHAR(80) NOT NULL,
    "url" VARCHAR(300) NOT NULL UNIQUE,
    "enabled" INT NOT NULL,
    "position" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL
) /* An Ollama server the platform may use. Managed by admins through services.hosts.HostDirectory. */;
        CREATE TABLE IF NOT EXISTS "conversations" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "model" VARCHAR(200) NOT NULL,
    "system_prompt" TEXT NOT NULL,
    "options" JSON NOT NULL,
    "messages" JSON NOT NULL,
    "workshop_id" INT,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
) /* A saved playground chat. Private to its owner; messages (with per-reply metrics) are kept as JSON. */;
CREATE INDEX IF NOT EXISTS "idx_conversatio_updated_0a97ea" ON "conversations" ("updated_at");
        CREATE TABLE IF NOT EXISTS "comparisons" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "prompt" TEXT NOT NULL,
    "models" JSON NOT NULL,
    "results" JSON NOT NULL,
    "winner" VARCHAR(200),
    "workshop_id" INT,
    "created_at" TIMESTAMP NOT NULL,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
) /* One side-by-side run: a prompt sent to 2-4 models; `winner` is the model the user marked as better. */;
CREATE INDEX IF NOT EXISTS "idx_comparisons_winner_a81b54" ON "comparisons" ("winner");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "comparisons";
        DROP TABLE IF EXISTS "ollama_hosts";
        DROP TABLE IF EXISTS "conversations";"""


MODELS_STATE = (
    "eJztXG1z2jgQ/isaPiUzCZOQ10tvboYktOWaQCeQa6fXG1dgBTSxJVeSQ5le//tJMsbvrp"
    "0CAc6fQlZaS35WL7uPVv5es6mJLF6/54jVLsD3GoE2kj8i8j1Qg44TSJVAwIGlK7qyhpbA"
    "ARcMDoUUPkCLIykyER8y7AhMiZQS17KUkA5lRUxGgcgl+KuLDEFHSIx1R/7+R4oxMdE3xP"
    "1/nUfjASPLjPQTm6ptLTfE1NGyNhGvdUXV2sAYUsu1SVDZmYoxJfPamAglHSGCGBRIPV4w"
    "V3Vf9W72mv4beT0NqnhdDOmY6AG6lgi97sAIZDXD6HT7Rq/VN4xaCYCGlChwZVe5fvuR6s"
    "J+4/D47Pj86PT4XFbR3ZxLzn54TQfAeIoank6/9kOXQwG9GhrjAFRkQ2wlcb0aQ5YO7Fwh"
    "hq3sdBxbH8n1BdeG3wwLkZEYK0RPjnOg/Kt5d/W2ebcja+2qJqmcAN606MyKGl6ZwjvA18"
    "TcseDU0P+XgDmutxi0fUEAdzB/V473+UEBuM8PMtFWRVGwHcj5hDLTGEM+LoN2QvFZcM+G"
    "7nqi3Tg5KTS6T3JG90kccEatjFHdIq6tsW7LPkEyRAnMfd3VjewaFALJcr8vRRGvNa9v25"
    "0LAE0bk8+k3en17+6v+t27C4AV4u5QUPaZNPv9Vue61ZIVw+2UtNPhaQEzHZ5mWkkVRY2E"
    "uSH3avyUYqlLKo0AScYWGtaLWWkgFZdlJn8HWMKUyIH2stu9UU+2Of9qaUG7H8P4/vayJb"
    "HX0MtKWKDwHhsAPmRIQWJAkUT8WpYIbKN0yKOaMczNmWrd/7GJO4B8QbNLrOnMzjkG6bdv"
    "W71+8/Z9xCrXzX5LlTS0dBqT7sTnxfwh4EO7/xaof8Gnbqel4aVcjJhuMajX/1RTfYKuoA"
    "ahEwOaIafEl/qoRazuOuYzrR7VrKy+Llb3MQqZfdb7wOoW5MKw6AiTZxg+obwA26+ZE7K5"
    "pvZmuIpGHx5DoZMSDODwcQKluxgpCQaF3jaxmKZsuDPN1+/ukAU1mEmzzwLy5uwprSeUjF"
    "s3xvKBNG36yNInxLhGgv8aXFehR23gGlkQLtuBDPMFgOU/aJugUnOTNmjWbE0W2Q07LoEE"
    "jvQrqbZVS6mzMYU/S0zXbCLNXx8MpOoWo9RqXYKAGEtcAASKiQMmNuvgA8Mq2ABU7q6ymF"
    "F3NAay9AkPEa/7Dc071/NK6vHIZPFPXzDRd4lH/xeu77dG4+jorHFwdHp+cnx2dnJ+MCf9"
    "kkV57N9l+40KTiL75c8ZQWVVb1koyp4EGsuK5V+OFDwtwgmeZlOCpwlGcELZIx9TxyjFZ8"
    "e0fj7Yn+UgbB6zHVuGywzbucIWkn0HRbhVWSub7DtIsKtj6U6Xwdevv33wHhWC9ygH3qMk"
    "vII+ojS3LnNJCBSWtBqsFuEFLwfSA0ZkODXsFEhfWxRmgBpViwH7oPQ2D9oc3K6795c3Lf"
    "D+rnXV7rW7nWjQrQujbOddq3kTQxoxRlkS5D76loHxXGEbVoY8gqP1sR/hNvz5v3Pb/Lgb"
    "gfqm23njVw+tF1c33cv4gSISEFspg/rPXreTcZYYqMQJJjwU4F9gYV5kWD/v0OX3B5doBx"
    "EMXGwJTHhdNftHyUOYRRhEQZRvkDj2e1EWST0gbpDNYvtX6uFtJu1biOyXQXA5Bz6kUW3X"
    "3nad4Faj+Kbs25QhPCLv0DRxtJxOc/k5TZuFbRa/JcUMTuaESXhIyVeXL4y8PVq2Dzr3N3"
    "Kfziarl0qVOU4PCeG9YpInC0r3ckkyxzG4V7EgQ9azoWUB5hK1XAJfF4gxFN7ZPQfDMSQj"
    "BDCRUgTu22AH1Ud1MBlrkgpQBxHA5RDbdx2AOaBkN0mVLa+ZX+DMHlHKaUN2bDarvnU5XI"
    "uia7LpsSdouSmZFNne11xh9b7Xy7i9S/GyqtP1bXOzsk7XS5y4LnMT60p72/Ct4rBSNrFQ"
    "ae4mRnU9Q1FhBTexJgHew/U5i9ws1A7iWFA8UGYDG07V8Uwd3Hr9BoOpv+ckjmd0o3XVx2"
    "vMkMpRmyY3s+U3V2V8r1fGt3zrcjz5XKHKQS6Qg+yyUuDOqm+dI7YUihwR9eZpp8N5eawh"
    "rSqLtXgWq9zKcfpJcOYSHFZ5FsnxLKQP1noh3lSisHJhn88UrokLG8mIS3Fi4xlz2W5sIk"
    "2vgB8LOHySHqO6xTSSriIxFSsi6uA9w09yZAJBARYc0Ikcqa+AjTiXb8HBzgSLMXAQ22fI"
    "saayQA6dId8FkCHwiBwBIAcqQkzxZVfSZOXPrpc/K7DIuoSUcW7uK6zw5lEHTcAwNt02NA"
    "1kxXk2a7dVLR9hPuUC2YbDqO2k+ArZB+sJxRWO8Bc4zl3K+Tp1MnLRsxnekEp1vr5w5tff"
    "pstYJKyzHiZR7W2NSdY5hXXjTsGrELEY1NsVIm7u2VaVQbSQi6M6CC23gIZVVkevrfnymZ"
    "NEpPFK4rusLKJ1Q7doGlF4WEXyiK6avavmdeul0ohCdxRTyavwDcY86ipyZbLYPTuOTbQ/"
    "mO6rvyrT5wJA4EVVgCMiFJHU2D8GXnOvwJcJJhLDLyqXR52farn+pa/S2ZA9IlORSAMkBG"
    "Lpt+9W0GZFXa0XdVU+wn+J0H6LkueD9aFwJDnXqOLIhceRskj2v5Q9QiqVQRYf2Os9pQy5"
    "G2gs6TLPC34PcBncbkWdVNTJyqHezCi6CHVSRdFVFL0SF3Vjo+gmYng4rqVdxPFK9nIv4Q"
    "R1qm8+b9KE3ssJO1UWQslPvIRUtiLwXMG3cdWkKoHwrPoWontYyI8+zPGjD5N+tGxRzL6z"
    "VTR0DKlUV7FKBokvmtH44z9zFgRP"
)
