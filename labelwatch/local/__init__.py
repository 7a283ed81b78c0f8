"""The embedded twin: moto, made as strict as AWS, and the local stand-ins it runs with."""

from labelwatch.local.moto_imports import defer_moto_batch

defer_moto_batch()  # before anything here imports moto's Step Functions interpreter
