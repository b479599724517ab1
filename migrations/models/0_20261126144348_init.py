"""Migration 0_20261126144348_init.py: the initial schema, for SQLite and PostgreSQL."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

UPGRADE = {
    'sqlite': '''CREATE TABLE IF NOT EXISTS "users" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "email" VARCHAR(254) NOT NULL UNIQUE,
    "display_name" VARCHAR(80) NOT NULL,
    "password_hash" VARCHAR(255),
    "role" VARCHAR(16) NOT NULL /* ADMIN: admin
INSTRUCTOR: instructor
ATTENDEE: attendee */,
    "is_active" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "last_login_at" TIMESTAMP
);
CREATE TABLE IF NOT EXISTS "activity_events" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "action" VARCHAR(64) NOT NULL,
    "workshop_id" INT,
    "model" VARCHAR(200),
    "host" VARCHAR(300),
    "tokens" INT,
    "latency_ms" REAL,
    "error" TEXT,
    "details" JSON NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "user_id" INT REFERENCES "users" ("id") ON DELETE SET NULL
) /* One thing a user did. Written only through services.activity.ActivityService. */;
CREATE INDEX IF NOT EXISTS "idx_activity_ev_action_f186ac" ON "activity_events" ("action");
CREATE INDEX IF NOT EXISTS "idx_activity_ev_worksho_c64138" ON "activity_events" ("workshop_id");
CREATE INDEX IF NOT EXISTS "idx_activity_ev_created_04cd45" ON "activity_events" ("created_at");
CREATE TABLE IF NOT EXISTS "app_settings" (
    "key" VARCHAR(64) NOT NULL PRIMARY KEY,
    "value" JSON NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
) /* Small runtime settings that admins change in the UI (e.g. whether open sign-up is on). */;
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);''',
    'postgres': '''CREATE TABLE IF NOT EXISTS "users" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "email" VARCHAR(254) NOT NULL UNIQUE,
    "display_name" VARCHAR(80) NOT NULL,
    "password_hash" VARCHAR(255),
    "role" VARCHAR(16) NOT NULL,
    "is_active" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "last_login_at" TIMESTAMPTZ
);
COMMENT ON COLUMN "users"."role" IS 'ADMIN: admin\\nINSTRUCTOR: instructor\\nATTENDEE: attendee';
CREATE TABLE IF NOT EXISTS "activity_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "action" VARCHAR(64) NOT NULL,
    "workshop_id" INT,
    "model" VARCHAR(200),
    "host" VARCHAR(300),
    "tokens" INT,
    "latency_ms" DOUBLE PRECISION,
    "error" TEXT,
    "details" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "user_id" INT REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_activity_ev_action_f186ac" ON "activity_events" ("action");
CREATE INDEX IF NOT EXISTS "idx_activity_ev_worksho_c64138" ON "activity_events" ("workshop_id");
CREATE INDEX IF NOT EXISTS "idx_activity_ev_created_04cd45" ON "activity_events" ("created_at");
COMMENT ON TABLE "activity_events" IS 'One thing a user did. Written only through services.activity.ActivityService.';
CREATE TABLE IF NOT EXISTS "app_settings" (
    "key" VARCHAR(64) NOT NULL PRIMARY KEY,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "app_settings" IS 'Small runtime settings that admins change in the UI (e.g. whether open sign-up is on).';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);''',
}

DOWNGRADE = {
    'sqlite': '''''',
    'postgres': '''''',
}


def _dialect(db: BaseDBAsyncClient) -> str:
    return 'postgres' if db.schema_generator.DIALECT == 'postgres' else 'sqlite'


async def upgrade(db: BaseDBAsyncClient) -> str:
    return UPGRADE[_dialect(db)]


async def downgrade(db: BaseDBAsyncClient) -> str:
    return DOWNGRADE[_dialect(db)]


MODELS_STATE = 'eJztmu9v2jgYx/8Vi1edtKEWCu2m00nQphs3ChOkt2m3U2QSN7Ga2FnstEW7/e9nJ4T8zpIetIXrO3j8PLHzeRz78Tf50XKogWzWvmLIa70DP1oEOkj8SNlfgxZ03dgqDRwu7MDRFx6BBS4Y96DOhfEa2gwJk4GY7mGXY0qElfi2LY1UF46YmLHJJ/i7jzROTcStYCB//S3MmBjoHrHor3ujXWNkG6lxYkP2Hdg1vnQD24jwi8BR9rbQdGr7Domd3SW3KFl7Y8Kl1UQEeZAjeXnu+XL4cnSr24zuKBxp7BIOMRFjoGvo2zxxuwsttrU0bTJVtbmialqrASCdEglXDJUFd2/KIbzpHB2fHJ92+8enwiUY5tpy8jPsOgYTBgZ4JmrrZ9AOOQw9AsYxVORAbOe5nlnQKwa7DsiwFYPOso1IPl+4DrzXbERMbkmiveMKlH8OZmcfBrMD4fVKdknFAxA+FpNVUydsk7xjvgZmrg2XWvC/AeZs3GZoR4YYd/z8Pjrv08MauE8PS2nLpjRsFzJ2Rz1DsyCzmtDOBT4I92rqPk/anV6v1uzuVczuXha4R+2SWa0Q3wlYj8SYINFRjnkU+3gzuwU5R6I9Gktd4q3B+eVo8g5Aw8HkGxlN5urs6kydzt4BLIn7OqfeNzJQVWVyrijCMdlPwzwd9Wuk6ahfmiXZlE4SZprYq/FtQaaGVCQBkpItNBmXydJCBG4rTdEOsIVHogLtcDodyys7jH23A8NIzTC+uhwqgn2AXjhhjpJ7bAxc95BEokGeJ34uWjh2UDHydGSGubEKbUc/dnEHEDdoTIm9XOW5IiHq6FKZq4PLT6msnA9URbZ0AusyYz3IPhfri4DPI/UDkH/B1+lECfBSxk0v6DH2U7+25Jigz6lG6J0GjURRElkjaqms+67xwKynI1+y/lyyHjFKpH01+jjrNmRcs6mJyQMSnwveQO6fWRGyu6kOn3B5Gr2+SRydpGEB9Zs7KMrFVEs8KYJtE/NlwYa7irz4OEM2DGDm0746kA9WV1FuUf7cujOZj63R4yMJ0g4tY5pvcjpO1gIJNINbkn3LngqZFagcOajlckeURQ1J33rCR2tKEOCW4AIgkHoJMLDRBp89LEtCQMUaKJo96psWEK23WEesHXW0Htw8bGln68fNX33DcswQm/8XReZtp9PtnnQOu/3T3vHJSe/0cC3N5JuqNJrh6L0sIVOr2q91G5nVcPGoe8aNI7Z14no66aZfR7nplws3/Zxuc0e9G2ZRV2ukOmaifj3ZH7SM757+mFmGm0zbdcAeSjKHdRQw4VUuyRzmNDBLFD1N+Eb++4e3WwtvtwJvN4+X0xtEWIMlIQ7Y0mrwuIQ3vByIGhgRfak5BUgvbApLoKbDMmCvZdzuoa3gdj69Go4V8GmmnI3mo+kkfTQKGtOa1EwZjDOkkedRLw9ZRfcljNcB+7AyVB1DlS9q6gQaPf8Hl4Mvr1Kox9PJ+8g9sV6cjafD7GsfxCG2Cyb1H/PppOSNTxySlQGwzsE/wMaszrR+mDT+27VPggIRLHxsc0xYW3b7e0OpfBMJkYiqE5Jl/zp91pcXyCZktzTZR63wdlOcqyXJikNwswI+EfGyXYfbdU4BS/Mt2Leph7BJPqJl7gVgsdAVfXmyW2zL9C1h9uDdWjBJTilx6+KGUbhHi/7B5Gos9ulySXGrUpnrzhHn4S3mdbK49XWlSOa6GgsdaypkcwfaNvB8IpdLEMUCbkEevmFlQLcgMRHARFgRuBqBA9Q22+DOCkQqQF1EABNT7I3vAswAJa/yUtn2uvkPmtkNKtCEy89mK/e9+9JmU3JNuTx2C22/4H13efW1Dnj82utpyt6tVFkv70D3rcwqewfa4L3YVjcx5GHdKtzAwpbqzSv2efmidZdq0sqlH3ms4auRRMgefme5lS//5EPVgPDKfQ/pHtVSmY8qVOajvMoseuSr99N1C5hEyEsJ07CEedLN7Oe/N/zeCA=='
