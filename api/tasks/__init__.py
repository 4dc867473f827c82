"""HTTP resources for tasks and the phone sync."""
