"""Documents generated from the project's data, each kept in step by a test.

``python -m docgen.crisis_rules`` writes ``docs/crisis-rules.md`` from the crisis rule
files; ``make topics`` (``python -m docgen.topics``) writes what each topic of
``actions/knowledge.yml`` implies (domain intents, rules, the topic pages and the README's
list); ``markdown`` holds what the generated reports share.
Nothing here runs in the assistant, so the runtime images leave it out.
"""
