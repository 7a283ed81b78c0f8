"""``labelwatch cost``: what a stack's configuration costs a month on AWS for a described workload.

Pure functions over dated price data (``prices/<region>.json``) and named assumptions
(``assumptions.py``); nothing here calls AWS or imports the CDK. docs/cost.md writes the model down.
"""
