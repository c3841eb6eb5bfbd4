"""metaticket datasets."""
