"""Reports built from the offline stack exports: monthly cost estimates and diagrams."""
