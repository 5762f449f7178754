"""Answers to each program's checklist with nothing found, for tests to change one item at a time."""

NOTHING_SEEN = {"obs_workers_living_on_site": False, "obs_minor_working": False}
FOOD_CLEAN = {"san_food_temperatures": "pass", "san_handwashing": "pass", "san_cross_contamination": "pass",
              "san_pests": "pass", "san_certified_manager": "pass", "lic_establishment_license_posted": True,
              "lab_notices_posted": True, "lab_untreated_injury": False} | NOTHING_SEEN
LABOR_CLEAN = {"lab_workers_on_site": 6, "lab_hours_posted": True, "lab_pay_records": True,
               "lab_minimum_wage_paid": True, "lab_overtime_paid": True, "lab_days_off": True,
               "lab_hours_over_60": False, "lab_employer_housing": False, "lab_recruitment_fees": False,
               "lab_safe_conditions": True, "lab_untreated_injury": False} | NOTHING_SEEN
MASSAGE_CLEAN = {"san_tables_and_linens": "pass", "san_handwashing": "pass", "san_restroom": "pass",
                 "san_pests": "pass", "san_oils_and_supplies": "pass", "lic_establishment_license_posted": True,
                 "lic_practitioners_present": 2, "lic_each_practitioner_licensed": True, "lic_holder_present": True,
                 "forensic_lighting": "negative", "test_kit": "not_performed", "prem_front_door_locked": False,
                 "prem_windows_covered": False, "prem_paraphernalia": False} | NOTHING_SEEN
LODGING = {"san_guest_rooms": "pass", "san_laundry": "pass", "san_water_and_pool": "pass",
           "safety_smoke_alarms": "pass", "lic_establishment_license_posted": True,
           "obs_room_traffic": False} | NOTHING_SEEN
