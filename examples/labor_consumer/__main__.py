"""`python -m labor_consumer`: consume until Ctrl-C."""

from labor_consumer.consumer import main

main()
