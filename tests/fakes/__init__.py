"""Stand-in executables for the CLIs the Makefile drives (pulumi, aws): they record calls and answer plausibly."""
