from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "api_tokens" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(80) NOT NULL,
    "prefix" VARCHAR(16) NOT NULL,
    "secret_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMP NOT NULL,
    "last_used_at" TIMESTAMP,
    "expires_at" TIMESTAMP,
    "revoked_at" TIMESTAMP,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
) /* A personal API token. Only the SHA-256 hash of the secret is stored; the secret is shown once. */;
        CREATE TABLE IF NOT EXISTS "external_identities" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "provider" VARCHAR(32) NOT NULL,
    "subject" VARCHAR(255) NOT NULL,
    "email" VARCHAR(254),
    "created_at" TIMESTAMP NOT NULL,
    "last_login_at" TIMESTAMP,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_external_id_provide_c54959" UNIQUE ("provider", "subject")
) /* An account at an OAuth\/OIDC provider (provider + subject) linked to a local user. */;
        CREATE TABLE IF NOT EXISTS "quotas" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "workshop_id" INT,
    "period" VARCHAR(16) NOT NULL,
    "max_requests" INT,
    "max_tokens" INT,
    "session_started_at" TIMESTAMP,
    "created_by_id" INT,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "user_id" INT REFERENCES "users" ("id") ON DELETE CASCADE
) /* Request and token limits. Exactly one of `user` \/ `workshop_id` is set. */;
CREATE INDEX IF NOT EXISTS "idx_quotas_worksho_e1ff2d" ON "quotas" ("workshop_id");
        CREATE TABLE IF NOT EXISTS "audit_entries" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "action" VARCHAR(64) NOT NULL,
    "outcome" VARCHAR(16) NOT NULL,
    "target" VARCHAR(300),
    "ip" VARCHAR(64),
    "details" JSON NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "user_id" INT REFERENCES "users" ("id") ON DELETE SET NULL
) /* One security-relevant event. Written only through services.audit.AuditService. */;
CREATE INDEX IF NOT EXISTS "idx_audit_entri_action_7b2c7c" ON "audit_entries" ("action");
CREATE INDEX IF NOT EXISTS "idx_audit_entri_created_a88510" ON "audit_entries" ("created_at");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "api_tokens";
        DROP TABLE IF EXISTS "audit_entries";
        DROP TABLE IF EXISTS "external_identities";
        DROP TABLE IF EXISTS "quotas";"""


MODELS_STATE = (
    "eJztXWtz4jgW/SsqPqVr00xCntu7tVUkcU+zk0BPIDtTMz3lFrYC2hjJLclJqJn+7yvZGL"
    "+JTYCAV9/Cla4kn6vXPbpS/mxMqI0c3rzjiDU+gD8bBE6Q/CMh3wcN6LqRVAkEHDp+Rk/m"
    "8CVwyAWDlpDCe+hwJEU24hbDrsCUSCnxHEcJqSUzYjKKRB7B3zxkCjpCYuw35Pc/pBgTGz"
    "0jHv50H8x7jBw70U5sq7p9uSmmri/rEPHRz6hqG5oWdbwJiTK7UzGmZJ4bE6GkI0QQgwKp"
    "4gXzVPNV62afGX5R0NIoS9DEmI6N7qHniNjnDs1I1jDNbm9g9o2BaTYqAGRRosCVTeX+14"
    "9UE963Do/Pjs+PTo/PZRa/mXPJ2feg6giYQNGHpztofPfToYBBDh/jCFQ0gdjJ4no5hiwf"
    "2LlCClvZ6DS2IZLbC+4EPpsOIiMxVoieHC+A8j/t28tP7ds9meudqpLKARAMi+4sqRWkKb"
    "wjfG3MXQdOTf93BZjTeqtBOxREcEfjd+N4nx+UgPv8oBBtlZQE24WcP1Fmm2PIx1XQzigu"
    "Bfes624n2q2Tk1K9+2RB7z5JA86oU9CrDeJNfKw7sk2QWCiDeai7uZ7dgEIgmR62pSzijf"
    "bVTaf7AUB7gskX0un2B7d3l4Pe7QeAFeKeJSj7QtqDgdG9MgyZMV5PRTsdnpYw0+FpoZVU"
    "UtJImJtyrcaPOZa6oNIIkBQsoXG9lJWGUnFdZgpXgDUMiQXQXvR616rkCeffHF/QGaQwvr"
    "u5MCT2PvQyExYovsZGgFsMKUhMKLKIX8kUgScoH/KkZgpze6baDP/YxRVAfqDdI850ZucF"
    "Bhl0boz+oH3zOWGVq/bAUCktXzpNSffS42JeCPilM/gE1E/wW69r+PBSLkbMrzHKN/itod"
    "oEPUFNQp9MaMc2JaE0RC1hdc+1l7R6UlNbfVusHmIUM/us9ZHVHciF6dARJksYPqO8Attv"
    "2SZkd00djHDljd4/xFwnJRhC6+EJyu1iIiXqFP6yicU0Z8GdaX786RY50Acza/aZQ96elW"
    "I8oqzfujOWj6R5wwe62BT0ARH+SqxcPFDF7ODkWAonbMs+gAVGr8TJeBaIEeh0gvKmdcXr"
    "m0cFfCVWP6sy6jruPBsLU/YB9uou1VZFGbKkMp1pV7BSszxt0aJ5P5s0aU3SEkjgyP8kVb"
    "eqKXdez2FiMxN/MSUbrjQmUnnLkbONHkFAjCUuAALF6QIb203wC8PKbQVU7tNkMqPeaAxk"
    "6iO2EG+GFc0b1w9Smmkfd/Wlr5gyvsCj/xfW+O+t1tHRWevg6PT85Pjs7OT8YE4fZ5MW8c"
    "gXnR+Vm5vYeb3MLSurBjNHWR4u0lgXK/R29PJpGXb5tJhcPs1wy0+UPfAxdc1KJyMprZc7"
    "+1LT+O6dkaSm4Srddq5QQ9r4oAxLL3MV08YHGZ5+LB2zKviG+esH71EpeI8WwHuUhbfIoS"
    "qcEiKFNc0Gm0V4xdOB3AAjYk3NSQ6kHx0KC0BNqqWAvVd6uwftAtyuencX1wb4fGtcdvqd"
    "XjdJ3/iJSd781mhfp5BGjFGWBXmAngswnivUYWZYRJUZvw4SLFk4/vdu2r++S0B93ev+GG"
    "aPzReX172L9NE0EhA7OZ363/1et+BUOlJJU5XYEuAv4GBeplsvd3z3z3uP+BtEMPSwIzDh"
    "TVXtvyoe563CIAqixQZJY7+f5CNVAWmD7Na50UZ3eLt5gFDq2Eg6wdU28DENvVwHy3WGpU"
    "/im7NuU4bwiPyEppkghXyWK4yO2y1si/gtKWbwaU6YxLuU/HT5wShYo2X9oHt3Ldfp4mOP"
    "tVJlrttHQgSfmOXJotT9hSSZ65o8yFiSIetPoOMA5hE1XYJQF4gxFEEUCAfWGJIRAphIKQ"
    "J3HbCHmqMmeBr7JBWgLiKAyy723nMB5oCSd1mqbH3VvIIze0A551bFvtkse+2iAVdF1xTT"
    "Y4/Q8XJicop3X3OFze+93mbbu5Zdlo7TqNs2qyhOo8LZ/XoXsdnZdO4SFp1bL1rA4qfkLy"
    "9fbeAiximBDmh/7gBftQl6wdELAv1P7fetk1Oggl0BvfdlHEkfQqglhAu5N7L/kZaO6ZM6"
    "vck78Vl/dfrWwHbdGqgaza6j2KtEsTN0j5+rwBtp1BDg1QdEB9NM5UsCKTW9433xgHK3CC"
    "291VoNo+VHtXp8KbundXVA7PbsqbOWRs8ulsUtYeekprbyNluZoUe5o19mNCc1tZW32cqb"
    "P4fYuiW5TgcR2wbua08iLtv9y/aV8VYHEZm4+RwuJy+2vpjTQbPcZjK0vwS5QwC0LOoRAd"
    "QxAQG9tifGP/Q6V5fAZfRRlsfA3vyvvwHuDf+LLPEOOJjI2RgICiBwqAUdPz43h89ZRw05"
    "FM7vjbAMlWFWSOMPzey8IbMTt0h5+iHSqSEBcdQqE6LXKo7Qa2UIiFlXr4BxTKWGEK/lcY"
    "INP22yZXvTDbxtoumdYvRrTu/oG88v7XS33dTaKdzYfks7hfV0CoMLwjme4PzmcLH7F11Q"
    "ftnju0XSWlx5YnZwuC79rAkWvAmMZ6noTAElSJ2sf1VAfQU/gK+xS15f/fN0JLJ+3orK/U"
    "K+kDYIU4D/ZUB+uSNdWuUKImiN508iBQEA0q2c5+fIharPyur2fKdTOpDUD3fDDIQXQ1UA"
    "HBavjm3TLuMaXEZ9DXE9945cxDDNgXSBIz7X2OCjajacNjbiw6w+EEAVz4JJsMp1ubSajs"
    "LPuUMrMap8DzGppGHNwsoR57IJptwQsuVc7/wStBu2zW5YSJcMp9XW2IyeHlL6tUbNYqki"
    "9C2Aulm96BaAvmxZVzpry7DdcTYr9o5b3kWVxCtvC66qpB+WK/ccGUeWx7CYvmcSjkdIBP"
    "AfNHvx3TBVW9C2he+RrbZ4/SCZfpBMP0iWE+9PPWHRajeDYiob5Kzow65SVtJrl7NOFYQj"
    "jfqFNazl+SzsVoE3yF0/aFc/O+j3hrbsJvxuMR/6vSH93pB2gbcb29e6wG/+3hBi2Bo38v"
    "zfIGV/oe8b5dH/IHGXhvP+Ap/xETFe0WmMqehY7XKx2mpQVUB4lr2G6B6W8mgOF3g0h1mP"
    "RtYoZv9KoOzOO6aiX5uquMfO7A42uZh9/x/bHHpP"
)
