"""Async domain services, one package per area (mirroring `pages/`), built once by `services.wiring`.

    core/       what the whole platform shares: accounts and sign-in, tokens, audit, activity, quotas, health,
                logging, the database, worker processes, errors
    models/     Ollama hosts, the model catalogue and its administration, model names, generation options, and
                `calls`: the one path every request to an Ollama server goes through
    chat/       conversations, side-by-side comparisons, the REST/OpenAI chat layer, the tool-calling loop
    knowledge/  extraction, chunking, vector stores, ingestion, embeddings, RAG and its evaluation
    prompts/    prompt templates, their versions and runs
    tools/      tool definitions, schemas, built-in and HTTP tools
    workshops/  workshops, the live room, rules, reports, sharing with a workshop
    admin/      the platform as a whole: backup and restore

Imports point one way: core <- models <- tools <- prompts <- chat <- knowledge <- workshops <- admin (a package may
import only the ones to its left; tests/unit/test_architecture.py checks it). `services.wiring` (the composition root)
builds every service with its dependencies.
This file imports nothing, so importing one area never drags in the others.
"""
