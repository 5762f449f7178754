"""`python -m housing_consumer`: consume until Ctrl-C."""

from housing_consumer.consumer import main

main()
