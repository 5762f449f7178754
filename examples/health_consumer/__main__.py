"""`python -m health_consumer`: consume until Ctrl-C."""

from health_consumer.consumer import main

main()
