"""Field service: consumables deliveries, on-site visits, the maintainer's queue and care reminders.

``catalog`` (what can be ordered), ``when`` (preferred visit times in Chinese), ``areas``
(service area from an address), ``care`` (the care checklist), ``schemas`` (the field job's
inputs and outputs), ``jobs`` (the job row a new ticket gets), ``service`` (field jobs on
tickets), ``reminders`` (opt-in periodic care reminders through the merchant's channel).
"""
