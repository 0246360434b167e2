"""Task heads on a pretrained encoder and the ULMFiT fine-tuning recipe.

(ULMFiT stage 3, Howard & Ruder 2018; MultiFiT, Eisenschlos et al. 2019.)
See doc/tasks.md.
"""
