"""The optional profile residents give when they join, used for segments and reports."""

# Age bands offered at onboarding, as stored in Resident.age_band.
AGE_BANDS = ("16-24", "25-44", "45-64", "65+")
