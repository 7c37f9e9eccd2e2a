"""The action server package: curated answers about psychotherapy (see knowledge.yml)."""
