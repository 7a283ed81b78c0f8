"""The DetectLabels Lambda: checks an uploaded image, runs the Custom Labels model, applies the label rules.

Handler: ``detect.handler.lambda_handler``. The input, output, errors and environment are specified in
``docs/contracts.md``; the result records in the README's "Result records" section.
"""
