from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "users" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "email" VARCHAR(254) NOT NULL UNIQUE,
    "display_name" VARCHAR(80) NOT NULL,
    "password_hash" VARCHAR(255),
    "role" VARCHAR(16) NOT NULL /* ADMIN: admin\nINSTRUCTOR: instructor\nATTENDEE: attendee */,
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
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztmu9v2jgYx/8Vi1edtKEWCu2m00nQphs3ChOkt2m3U2QSN7Ga2FnstEW7/e9nJ4T8zp"
    "IetIXrO3j8PLHzeRz78Tf50XKogWzWvmLIa70DP1oEOkj8SNlfgxZ03dgqDRwu7MDRFx6B"
    "BS4Y96DOhfEa2gwJk4GY7mGXY0qElfi2LY1UF46YmLHJJ/i7jzROTcStYCB//S3MmBjoHr"
    "Hor3ujXWNkG6lxYkP2Hdg1vnQD24jwi8BR9rbQdGr7Domd3SW3KFl7Y8Kl1UQEeZAjeXnu"
    "+XL4cnSr24zuKBxp7BIOMRFjoGvo2zxxuwsttrU0bTJVtbmialqrASCdEglXDJUFd2/KIb"
    "zpHB2fHJ92+8enwiUY5tpy8jPsOgYTBgZ4JmrrZ9AOOQw9AsYxVORAbOe5nlnQKwa7Dsiw"
    "FYPOso1IPl+4DrzXbERMbkmiveMKlH8OZmcfBrMD4fVKdknFAxA+FpNVUydsk7xjvgZmrg"
    "2XWvC/AeZs3GZoR4YYd/z8Pjrv08MauE8PS2nLpjRsFzJ2Rz1DsyCzmtDOBT4I92rqPk/a"
    "nV6v1uzuVczuXha4R+2SWa0Q3wlYj8SYINFRjnkU+3gzuwU5R6I9Gktd4q3B+eVo8g5Aw8"
    "HkGxlN5urs6kydzt4BLIn7OqfeNzJQVWVyrijCMdlPwzwd9Wuk6ahfmiXZlE4SZprYq/Ft"
    "QaaGVCQBkpItNBmXydJCBG4rTdEOsIVHogLtcDodyys7jH23A8NIzTC+uhwqgn2AXjhhjp"
    "J7bAxc95BEokGeJ34uWjh2UDHydGSGubEKbUc/dnEHEDdoTIm9XOW5IiHq6FKZq4PLT6ms"
    "nA9URbZ0AusyYz3IPhfri4DPI/UDkH/B1+lECfBSxk0v6DH2U7+25Jigz6lG6J0GjURREl"
    "kjaqms+67xwKynI1+y/lyyHjFKpH01+jjrNmRcs6mJyQMSnwveQO6fWRGyu6kOn3B5Gr2+"
    "SRydpGEB9Zs7KMrFVEs8KYJtE/NlwYa7irz4OEM2DGDm0746kA9WV1FuUf7cujOZj63R4y"
    "MJ0g4tY5pvcjpO1gIJNINbkn3LngqZFagcOajlckeURQ1J33rCR2tKEOCW4AIgkHoJMLDR"
    "Bp89LEtCQMUaKJo96psWEK23WEesHXW0Htw8bGln68fNX33DcswQm/8XReZtp9PtnnQOu/"
    "3T3vHJSe/0cC3N5JuqNJrh6L0sIVOr2q91G5nVcPGoe8aNI7Z14no66aZfR7nplws3/Zxu"
    "c0e9G2ZRV2ukOmaifj3ZH7SM757+mFmGm0zbdcAeSjKHdRQw4VUuyRzmNDBLFD1N+Eb++4"
    "e3WwtvtwJvN4+X0xtEWIMlIQ7Y0mrwuIQ3vByIGhgRfak5BUgvbApLoKbDMmCvZdzuoa3g"
    "dj69Go4V8GmmnI3mo+kkfTQKGtOa1EwZjDOkkedRLw9ZRfcljNcB+7AyVB1DlS9q6gQaPf"
    "8Hl4Mvr1Kox9PJ+8g9sV6cjafD7GsfxCG2Cyb1H/PppOSNTxySlQGwzsE/wMaszrR+mDT+"
    "27VPggIRLHxsc0xYW3b7e0OpfBMJkYiqE5Jl/zp91pcXyCZktzTZR63wdlOcqyXJikNwsw"
    "I+EfGyXYfbdU4BS/Mt2Leph7BJPqJl7gVgsdAVfXmyW2zL9C1h9uDdWjBJTilx6+KGUbhH"
    "i/7B5Gos9ulySXGrUpnrzhHn4S3mdbK49XWlSOa6GgsdaypkcwfaNvB8IpdLEMUCbkEevm"
    "FlQLcgMRHARFgRuBqBA9Q22+DOCkQqQF1EABNT7I3vAswAJa/yUtn2uvkPmtkNKtCEy89m"
    "K/e9+9JmU3JNuTx2C22/4H13efW1Dnj82utpyt6tVFkv70D3rcwqewfa4L3YVjcx5GHdKt"
    "zAwpbqzSv2efmidZdq0sqlH3ms4auRRMgefme5lS//5EPVgPDKfQ/pHtVSmY8qVOajvMos"
    "euSr99N1C5hEyEsJ07CEedLN7Oe/N/zeCA=="
)
