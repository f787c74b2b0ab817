import os

import evaluate
from evaluate.utils import launch_gradio_widget

# The module next to this file (a Space holds one module folder).
module = evaluate.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "qa.py"))
launch_gradio_widget(module)
