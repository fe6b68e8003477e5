"""What only CI runs: publishing the report, pushing drift metrics, updating from the template.

The machine-learning code is in src/; nothing here is installed into the serving image.
"""
