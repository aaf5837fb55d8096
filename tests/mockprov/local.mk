# tests/mockprov: rules arrive with their code
