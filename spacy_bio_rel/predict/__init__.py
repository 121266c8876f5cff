"""Text in, relations out: reading inputs, running the pipeline, writing records and pictures."""
