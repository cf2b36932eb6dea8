"""Personal-data protection: classification of source columns, masking for non-production
environments, field-level encryption and blind indexes (docs/data-protection.md,
docs/encryption.md).

May import: `config`, `observability`, `reference` and `core`; never `quality`.
"""
