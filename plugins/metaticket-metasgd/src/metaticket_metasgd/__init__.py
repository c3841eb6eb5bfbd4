"""Meta-SGD for metaticket: an example third-party plugin built on core's public API only."""
