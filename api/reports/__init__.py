"""HTTP resources for field reports and their evidence."""
