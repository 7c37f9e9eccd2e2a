"""Documents generated from the project's data, each kept in step by a test.

``python -m docgen.crisis_rules`` writes ``docs/crisis-rules.md`` from the crisis rule
files; ``make readme`` (``python -m docgen.readme_topics``) writes the README's topic list
from ``actions/knowledge.yml``; ``markdown`` holds what the generated reports share.
Nothing here runs in the assistant, so the runtime images leave it out.
"""
