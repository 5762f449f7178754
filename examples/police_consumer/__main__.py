"""`python -m police_consumer`: consume until Ctrl-C."""

from police_consumer.consumer import main

main()
