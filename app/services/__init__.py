"""Use cases over the domain core. Services flush; the caller's boundary commits."""
