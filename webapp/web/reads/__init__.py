"""Read models for the browser pages, one module per page: what the page shows, gathered
in a bounded number of queries whatever the size of what it shows. Read-only: nothing
here writes or commits. The rules live in the engine and the services; these modules
only ask them (`why_not`, `available_acts`, …)."""
