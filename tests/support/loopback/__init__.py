"""A loopback production in miniature for the end-to-end cutover tests: a stable and a
canary instance of one small GraphQL-ish HTTP service (:mod:`.service`), a weighted reverse
proxy in front of them (:mod:`.proxy`) whose weight an actuator script sets
(:mod:`.actuate`), steady client load (:mod:`.load`) and a real Prometheus scraping all of it
every second (:mod:`.world`). Every piece is a real process speaking real HTTP."""
