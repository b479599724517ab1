from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "workshops" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "description" TEXT NOT NULL,
    "starts_at" TIMESTAMP,
    "ends_at" TIMESTAMP,
    "state" VARCHAR(16) NOT NULL /* DRAFT: draft\nLIVE: live\nENDED: ended */,
    "allowed_models" JSON NOT NULL,
    "join_code" VARCHAR(16) NOT NULL UNIQUE,
    "stuck_minutes" INT NOT NULL,
    "started_at" TIMESTAMP,
    "ended_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
        CREATE TABLE IF NOT EXISTS "workshop_instructors" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "workshop_id" INT NOT NULL REFERENCES "workshops" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_workshop_in_worksho_968dc3" UNIQUE ("workshop_id", "user_id")
) /* A co-instructor: may manage the workshop and open its dashboard. */;
        CREATE TABLE IF NOT EXISTS "workshop_resources" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "resource_id" INT NOT NULL,
    "label" VARCHAR(200) NOT NULL,
    "workshop_id" INT NOT NULL REFERENCES "workshops" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_workshop_re_worksho_946042" UNIQUE ("workshop_id", "kind", "resource_id")
) /* A resource shared with the attendees, owned by another feature: (kind, resource_id), no foreign key. */;
        CREATE TABLE IF NOT EXISTS "workshop_steps" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "position" INT NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "instructions" TEXT NOT NULL,
    "rule" JSON,
    "workshop_id" INT NOT NULL REFERENCES "workshops" ("id") ON DELETE CASCADE
);
        CREATE TABLE IF NOT EXISTS "workshop_memberships" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "current_step" INT NOT NULL,
    "joined_at" TIMESTAMP NOT NULL,
    "last_seen" TIMESTAMP,
    "left_at" TIMESTAMP,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "workshop_id" INT NOT NULL REFERENCES "workshops" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_workshop_me_worksho_bceb16" UNIQUE ("workshop_id", "user_id")
);
        CREATE TABLE IF NOT EXISTS "workshop_progress" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "done" INT NOT NULL,
    "how" VARCHAR(16) NOT NULL,
    "at" TIMESTAMP NOT NULL,
    "membership_id" INT NOT NULL REFERENCES "workshop_memberships" ("id") ON DELETE CASCADE,
    "step_id" INT NOT NULL REFERENCES "workshop_steps" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_workshop_pr_members_a91593" UNIQUE ("membership_id", "step_id")
);
        CREATE TABLE IF NOT EXISTS "workshop_hands" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "message" VARCHAR(500) NOT NULL,
    "state" VARCHAR(16) NOT NULL /* RAISED: raised\nACKNOWLEDGED: acknowledged\nRESOLVED: resolved */,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "membership_id" INT NOT NULL REFERENCES "workshop_memberships" ("id") ON DELETE CASCADE
);
        CREATE TABLE IF NOT EXISTS "workshop_announcements" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "text" VARCHAR(2000) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "author_id" INT REFERENCES "users" ("id") ON DELETE SET NULL,
    "workshop_id" INT NOT NULL REFERENCES "workshops" ("id") ON DELETE CASCADE
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "workshops";
        DROP TABLE IF EXISTS "workshop_instructors";
        DROP TABLE IF EXISTS "workshop_hands";
        DROP TABLE IF EXISTS "workshop_steps";
        DROP TABLE IF EXISTS "workshop_memberships";
        DROP TABLE IF EXISTS "workshop_announcements";
        DROP TABLE IF EXISTS "workshop_resources";
        DROP TABLE IF EXISTS "workshop_progress";"""


MODELS_STATE = (
    "eJztXWtv2zgW/SuEP6VAGuTlNBMsFnASt/U2sQvbaQczGQi0RFvaSKRHopIas/3vS0rW+x"
    "HJkW1J5ac2JK8kn0uR5x5eUv90DKIg3Tp6sJDZuQL/dDA0EPtPpPwQdOByGZTyAgpnutPQ"
    "Zi2cEjizqAllygrnULcQK1KQJZvakmoEs1Js6zovJDJrqOFFUGRj7W8bSZQsEFWdB/nzL1"
    "asYQX9QJb35/JJmmtIVyLPqSn83k65RFdLp2yA6UenIb/bTJKJbhs4aLxcUZVgv7WGKS9d"
    "IIxMSBG/PDVt/vj86dY/0/tF7pMGTdxHDNkoaA5tnYZ+7kwKyjqSNBxNpUl/KkmdEgDJBH"
    "Nw2aNazq9f8Ed4f3py/uH88uzi/JI1cR7TL/nw0711AIxr6MAznHZ+OvWQQreFg3EAKjKg"
    "pidxvVGhmQ6sbxDDlj10HFsPyfqCa8Afko7wgqoc0e55DpTfeuObz73xAWv1jt+SsBfAfS"
    "2G66pTt47jHeCraNZShyvJ+bsEzHG7atD2CgK4g/d353hfHheA+/I4E21eFQV7CS3rhZiK"
    "pEJLLYN2wnAjuNddt55on3a7hXp3N6d3d+OAm0TP6NV9bBsO1gP2TBDLKIG5Z7u7nt2BlC"
    "JW7z1LUcQ7vdv7wfAKQMXQ8CMeDCfT8cPNdDS+AhpH3JYpMR9xbzrtD2/7fdYwfJ+Sfjq5"
    "KOCmk4tML/GqqJM0S2Jztfac4qlrwpwAccYUGraLeWnGDLflJm8G2MIrkQPt9Wh0x69sWN"
    "bfulMwmMYwfri/7jPsHehZI42i8BwbAC6biEMiQZpE/JbVUM1A6ZBHLWOYK2vTI+8/TZwB"
    "2A9URlhfrf2c45Dp4L4/mfbuv0a8ctub9nnNqVO6ipUexN8L/yLg+2D6GfA/wR+jYd+Bl1"
    "h0YTp3DNpN/+jwZ4I2JRImLxJUQqTEK/VQi3jdXiobej1qKbxeF697GIXcvn76wOs6tKik"
    "k4WGN3B8wrgC39eMhDTX1e4bzqPR+VModOIFMyg/vUBGFyM1Qadwpk2NrlIm3LXlxy9jpE"
    "MHzKTb1wF5b32V/jNKxq2N8XxQmvb6kBfMBj5GvZ8slSyttwH2fX2ZBo6QhcCSieTxTX6t"
    "SrAa+AS2rah5nUsykDFDpqVqVfWze/+CbcUOYkxsFrwZiFu9bTQLXapFgxmfDsgpyZogkl"
    "XGqREvgRgunJ/E783vlDoBpEi2iRkiW7v1piQJPXu+fFXF7YwwAlRluAAIuPgLFE05At9N"
    "jce3gDBCx6pNYi9UwGqfNRlZR96N/IebuDVH8WC4+qtXrC1fa4tfRV7+7fT07OzD6fHZxW"
    "X3/MOH7uWxrzMnq/IE5+vBJx4PRyja6yI096o7dhQV7AKLbclH+9OhL4rI0BfZKvRFQoT2"
    "p8BSSygxq9c7+0bDePMWU2LDcJlu6xu0UF8+LiLns1bZ+vJxQtBXWQRXBl+vffvgPSsE71"
    "kOvGdJeCl5QjiF12UOCYHBlkaD3SJc8XDAKDDC8koyUiD9qBOYAWrULAbsnNs1D9oc3G5H"
    "D9d3ffB13L8ZTAajYVTncSqjAvu437uLIY1M0w1YoyBP0Y8MjH2DNowMeZpa//dpRE7z3v"
    "+D+97v7yJQ342Gn7zmofHi5m50HV/DRhRqekqn/s9kNMxYvg5M4pqmJlPwP6BrVpFuvdk6"
    "37/mLNLkqIKZrelUw9YRv+2/S677VeEQDlG+Q+LYH0aFS36BuEOatcC0U4bXzJWGQutLLA"
    "guR+BDFmK6dqfrhJwfxTdl3iYm0hb4C1olshnSdS4vja5Z2GbpW6zYhC++YBLuUuynsx+M"
    "3Dma3R8MH+7YPJ29PrJVqWy5nCBK3Z+Y1MmC2sNckWy5lCy3YUGFbGJAXQemjflwCTxbQF"
    "VI3XQRC8gqxAsENMxKEXgYgAN0tDgCL6ojUgGyRBhYrIu9t5dAswDB75JS2fZu8wbN7Aml"
    "LHBlx2br5q1LG6xKrsmWx56hbqck72SzL99g99xrP7R3KyxLJHS0jWZlJXSUWOTf5iTmr1"
    "+nTGHhte3sCSyykC6y9BtFTfNmAKrRrETbDKHOM2hh3vhWlObwkyVwztaVYmY7zGXeg5ax"
    "FXGJxVMmtTaYZCOGInGuPlNqUrpAWNnEwyEz4d86+5e9inTjfSC+8Q4HT8WEc1pyBO3cjn"
    "sfp1fAsX3Ed4Nv/SsWSj2jR8y3fdxeAb7nQ4nH7vvZ8wF1nbywCCTgiEVjx6RlPQR8fr/W"
    "CPj/JRpmmCulOF3EqHUySvXvgEVt+UkyNGxTVGaRO2G3kXi+Ucc/Oa51gBJjbRtpI1FLMa"
    "/XeV53JrTNiJvwcCM83KyVZKFxvu52sVXxV/R6ka2KfK9VyQyCsMnuWFDNhdqcHAIHryS+"
    "20oiqBu6RbMIwt0qkkZw05vc9G77eVkEqdvhiFnRlq72b4dj4wmxTTktItoEsPH6cm2Fy6"
    "Koqu2CE3aptsIk9lY2aG9lY+DaxWJ7aMTPWXaPzguvL8DHZ6bXM8l6QCbvA6srYMAVcJ/e"
    "yejyrgwgVtxsLo1aQIGWOiMMjGTOWBUXTMkD+NP/jU4DTlT+ErkBe8wN2H1ecN3Gj6rFzf"
    "1tl2wjsjnhUngkeWPE1MKzPw5jUVOsg6UHTvEdAyIY3TSlvUAsugt+4gdYOewkHIQV4CaR"
    "ELAIM/EMgKVCEyngRaOqwyG8gw6tQ+Cc5ANmK0YniJNxPkeQ2ia6AgdPrAcc+hdhWL87BJ"
    "iAudsRwRNapbGX3dz0VYbDr8P/DV1JEJ69Eh7PI4U3HqzbtzAVsvpF83A3L951Y1aC+6Tu"
    "Dp+VOyzCN2hBVukOMngFaxesvYb0shBr3y/FdITpHHrpCdcFqKUvl4vNJ4163fP41pJYWv"
    "q+iExowya7G1KbkjwndvNsmwv4x6SStOONsrfzxO1awLx2vZ/HtNP6dna+udf+TVnmzckQ"
    "3Eo6uaC+gvq2j/qGGIhJePd/4yo5p7FfQ1dqCeo7WSUPpWPkBArRpI0C4UIsbaTaoEGsVN"
    "cskMj+WlQGNWjMF6JqI9/KtmkiTJ04vEQPjpuJmC0es/HNdxtlzEcMRcJ8XRLmi2yTcD7P"
    "YyGUonwU+K6PZyg2QNVnT0SKj9GcbvLlpsBM+LfO/hXZcSI7rs7ICrFBZMfVGdY3ZMcJ/a"
    "b8phAVYuWNMI2hZiHlM3STntoC0jZFrkjHSpG34h2vgLAV7vFVq1pGRGVzQnaha+1T11II"
    "Lvttbc9EfFa7+Ge1VUbxEyjnfQvoZcfiIRtgbKg3VTosHwQLTav2AXHORt1y8VvCTkRwqc"
    "dioZK4hiwEoq/HxFHuU1FU3Mq95oexQC7xAr8eIacvIm0Mc8vOP4gDHHqT65TkGwoHU0Kb"
    "aLBYILDxA1SR4NuoMfUwJ34xWKDKOk8Zch0yaUGOZJRadwtlpHZzMlK7yYzUxh2RbDojQ0"
    "nEO+PeYMKPQnatH3Hv5stw9P2uf/uJl7IBjdFSHSkLXjfuT0Z335zWyCL6c13OThZnImZD"
    "38zASJyJ+Ct6XYTDInirOeAVB2/7iTAip4+lxBjx08kKRBmJs9FEtNGoQSAv2qDoR8oUm7"
    "P5bd2+nXvfCm5+y939lgg2BINtG5cpwmBZpUpKJrtFbMRHokW2m8h2awQhLJ3t5r7oFYDb"
    "7u+bR8bDen3hHJmarHbS+LVbk8usYdBGMOkmjZh5TPqZhYSp53Jkk+mQSRv5dLdbhE53u9"
    "lsmtfF8mKWKXNSNsLr5i1E96RQsHKSE6ucpIQqBNO1LhBFOPvEiJCJ+L59yVMjEgRsl5PZ"
    "z/8Db0uSQg=="
)
