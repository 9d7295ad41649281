"""Documentation pushes onto PSA tickets."""
