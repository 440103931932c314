"""Hidden diagnoses: named mistakes that refine a failing verdict (not shipped with the handout's checks)."""
