"""metaticket models."""
