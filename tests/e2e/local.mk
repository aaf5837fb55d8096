# tests/e2e: rules arrive with their code
