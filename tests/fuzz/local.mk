# tests/fuzz: rules arrive with their code
