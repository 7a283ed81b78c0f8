"""labelwatch: a Custom Labels model turned into e-mail alerts and SQL-queryable results."""

import os

# The CDK libraries (imported by the embedded stack) run on Node through jsii, which prints a
# banner on Node 20; the README asks for Node 20+ and the banner would bury labelwatch's output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
