"""metaticket methods."""
