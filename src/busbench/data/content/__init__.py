"""Cases known by their content, whatever their file names, encoding or resolution."""
