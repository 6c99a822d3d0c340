"""The templates. Each entry says in a comment who sends it and why.

Tags in angle brackets mark where material starts and ends, so the model never confuses the text
under discussion with our instructions. They are explained once, in the system prompts.
"""

from __future__ import annotations

from wordgrad.prompts.code_templates import CODE_TEMPLATES

TEMPLATES: dict[str, str] = {}

# ---------------------------------------------------------------------------- roles (defaults)

TEMPLATES["role.system_prompt"] = "system prompt that steers the language model's behaviour"
TEMPLATES["role.frozen_system_prompt"] = "system prompt given to the language model"
TEMPLATES["role.llm_input"] = "input to the language model"
TEMPLATES["role.llm_output"] = "output of the language model"
TEMPLATES["role.evaluation_prompt"] = "system prompt of the evaluator"
TEMPLATES["role.evaluation"] = "evaluation of the {role}"
TEMPLATES["role.function_output"] = "result of a Python function that {purpose}"
TEMPLATES["role.feedback"] = "feedback on the {role}"
TEMPLATES["role.combination"] = "combination of: {roles}"

# ---------------------------------------------------------------------------- backward pass

# System prompt of every gradient request: who the model is and what good feedback looks like.
# Kept short: it goes with every feedback request of a step.
TEMPLATES["gradient.system"] = """\
You write feedback for a program of language-model calls that is improved by trial and \
critique. You see one step of the program and which of its texts, the variable, may change. \
Say how the variable should change so that the program does better: point at concrete parts, \
tie each point to the objective or the criticism, suit the variable's role (instructions for a \
prompt, content for an answer, behaviour for code), describe changes instead of rewriting the \
variable, be brief, and say "no change needed" when nothing should change."""

# The call in which a variable was used, shown to the feedback writer and the optimizer.
# The system prompt comes first: it is what the calls of a minibatch share.
TEMPLATES["gradient.llm_call"] = """\
<SYSTEM_PROMPT>
{system_prompt}
</SYSTEM_PROMPT>
<INPUT>
{input}
</INPUT>
<OUTPUT>
{output}
</OUTPUT>"""

# Stands for an image of a call's input when the call is shown as text (the image is attached).
TEMPLATES["gradient.image_placeholder"] = "[image {index}, attached above]"

# The same for a Python function (StringBasedFunction).
TEMPLATES["gradient.function_call"] = """\
<FUNCTION>
A Python function that {purpose}.
</FUNCTION>
<INPUT>
{inputs}
</INPUT>
<OUTPUT>
{output}
</OUTPUT>"""

# One named input of a function call.
TEMPLATES["gradient.function_input"] = "{name} ({role}):\n{value}"

# A feedback request: the step first (shared by the requests of a minibatch), then what is
# asked of it, then the variable.
TEMPLATES["gradient.request"] = """\
{conversation}

{objective}

{variable}{examples}"""

# The output is itself the objective (e.g. an evaluation): improve what it measures.
TEMPLATES["gradient.objective_is_output"] = """\
<OBJECTIVE>
The output ({output_role}) is an end result of the program. Make it better by the standard it \
states or implies; if it is a critique, aim for a variable it would no longer fault.
</OBJECTIVE>"""

# The output was used further on and received criticism there: pass it back to this input.
TEMPLATES["gradient.output_criticized"] = """\
The output ({output_role}) was used later in the program and received this criticism:
<CRITICISM>
{criticism}
</CRITICISM>
<OBJECTIVE>
Change the variable so that the output no longer deserves the criticism.
</OBJECTIVE>"""

# Ends a feedback request: the variable, in full.
TEMPLATES["gradient.variable"] = """\
How should this variable ({role}) change?
<VARIABLE>
{value}
</VARIABLE>"""

# Ends a feedback request whose variable is a whole block of the step above.
TEMPLATES["gradient.variable_shown_above"] = """\
How should the variable ({role}), the text in <{tag}> above, change?"""

# Appended when the op was given in-context examples.
TEMPLATES["gradient.examples"] = """\

Base your feedback on these examples of good results:
<EXAMPLES>
{examples}
</EXAMPLES>"""

# Stand-in for a long variable that appears verbatim inside a block of the call above.
TEMPLATES["gradient.value_shown_above"] = """\
(It appears verbatim in the step above, beginning and ending as follows.)
{short_value}"""

# Stands for the variable wherever it appears in a call that is shown with the variable.
TEMPLATES["gradient.variable_reference"] = "[the variable]"

# Where feedback passed through a sum or concatenation came from (kept as its context).
TEMPLATES["gradient.part_of_combination"] = """\
The variable was joined with other texts into one ({combined_role}); the feedback is about \
that whole. Act on the parts that concern this variable."""

# System prompt of the request that merges several feedback texts into one (tg.aggregate).
TEMPLATES["reduce.system"] = """\
You merge several pieces of feedback about one text variable into a single piece of feedback. \
Keep every distinct, concrete point and say how often it came up; merge repeated points; where \
items disagree, keep both views and say so. Do not write a new version of the variable."""

TEMPLATES["reduce.user"] = """\
<ROLE>{role}</ROLE>
Feedback items:
{items}"""

TEMPLATES["reduce.item"] = "<FEEDBACK>\n{text}\n</FEEDBACK>"

# ---------------------------------------------------------------------------- optimizer

# System prompt of the update request (Textual Gradient Descent).
TEMPLATES["optimizer.system"] = """\
You revise one variable of a language-model program at a time, given its role and the \
feedback it received. Feedback can be partly wrong or contradictory: act on what is sound and \
relevant. Your reply replaces the variable word for word: write the complete new text, with no \
comments, placeholders or omissions, and keep what already works. In the calls shown, \
[the variable] stands for the variable's current text.

{reply_format}"""

TEMPLATES["optimizer.reply_in_tags"] = """\
Write the new text between {start_tag} and {end_tag}; anything outside the tags is discarded."""

TEMPLATES["optimizer.reply_in_json"] = """\
Reply with a JSON object whose field "{json_field}" holds the complete new text."""

# The update request itself.
TEMPLATES["optimizer.update"] = """\
<ROLE>{role}</ROLE>
<VARIABLE>
{value}
</VARIABLE>

Feedback on this variable:
{feedback}
{past_feedback}{earlier_versions}{constraints}{examples}
Rewrite the variable to act on the feedback. {reply_instruction}"""

# One feedback item with the call it came from.
TEMPLATES["optimizer.feedback_with_call"] = """\
<FEEDBACK>
<CALL>
{call}
</CALL>
Feedback, from the call's output ({output_role}):
{text}
</FEEDBACK>"""

TEMPLATES["optimizer.feedback_plain"] = "<FEEDBACK>\n{text}\n</FEEDBACK>"

TEMPLATES["optimizer.no_feedback"] = "<FEEDBACK>\n(none)\n</FEEDBACK>"

# Gradient memory: the feedback of the last k updates.
TEMPLATES["optimizer.past_feedback"] = """\

Feedback from earlier steps, oldest first. When a point keeps coming back, the earlier changes \
did not go far enough: change more this time.
<PAST_FEEDBACK>
{items}
</PAST_FEEDBACK>
"""

TEMPLATES["optimizer.past_feedback_item"] = "[{steps_ago} step(s) ago]\n{text}"

# Momentum: earlier values with the feedback each received.
TEMPLATES["optimizer.earlier_versions"] = """\

Earlier versions of this variable, oldest first, each with the feedback it received. Learn \
from how they fared; if the same criticism returns, make a bolder change.
<EARLIER_VERSIONS>
{items}
</EARLIER_VERSIONS>
"""

TEMPLATES["optimizer.earlier_version_item"] = """\
[version {index}]
{value}
[feedback on version {index}]
{feedback}"""

TEMPLATES["optimizer.constraints"] = """\

The new text must obey every one of these rules:
<CONSTRAINTS>
{items}
</CONSTRAINTS>
"""

TEMPLATES["optimizer.examples"] = """\

Examples of good values for this kind of variable:
<EXAMPLES>
{items}
</EXAMPLES>
"""

# Sent once when a reply lacked the tags (or valid JSON); the earlier turns come with it.
TEMPLATES["optimizer.repair"] = """\
I could not find the new text in your reply. {reply_instruction} Send only that, with the \
complete new text of the variable."""

# ---------------------------------------------------------------------------- multimodal calls

# One text field of an OrderedFieldsMultimodalLLMCall (images are sent as they are).
TEMPLATES["multimodal.field"] = "{field}: {value}"

# ---------------------------------------------------------------------------- losses

TEMPLATES["loss.multifield_system"] = """\
You evaluate a prediction of a language-model program against the fields you are given. \
Judge carefully and state your verdict with a brief reason."""

TEMPLATES["loss.multifield_instruction_role"] = "instruction to the evaluator"

# Renders to one line of a format string, e.g. "**Question**: {question}".
TEMPLATES["loss.field_line"] = "**{label}**: {{{field}}}"

TEMPLATES["loss.multichoice_system"] = """\
You review a proposed solution to a multiple-choice question. Look for errors in its reasoning, \
calculations and in the option it picks, and say concretely what is wrong. Do not state the \
correct option yourself."""

# A format string: FormattedLLMCall fills its fields with variable values.
TEMPLATES["loss.multichoice_user"] = """\
{instruction}

Question:
{question}

Proposed solution:
{prediction}"""

TEMPLATES["loss.image_qa_system"] = """\
You check answers to questions about images. Compare the answer with what the image shows and \
with the question, and point out concretely what is wrong or missing. Be brief."""

# ---------------------------------------------------------------------------- tasks

# Starting system prompts of the prompt-optimization tasks (what TextGrad then improves).
TEMPLATES["task.bbh_description"] = """\
Work through the question step by step, then give your final answer on the last line, written \
as 'Answer: $VALUE' with nothing after it, where VALUE is only the answer itself."""

TEMPLATES["task.gsm8k_description"] = """\
Solve the maths word problem step by step, then give the result on the last line, written as \
'Answer: $VALUE' with nothing after it, where VALUE is a number."""

# A multiple-choice question (MMLU, GPQA) as the model sees it.
TEMPLATES["task.multichoice_question"] = """\
Answer the multiple-choice question below. Reason it through step by step, and make the last line \
of your reply 'Answer: $LETTER' (without the quotes), where LETTER is one of {letters}.

{question}

{options}"""

# The LLM judge of BBH tasks scored by a model (load_task(..., metric="llm")).
TEMPLATES["task.judge_instruction"] = """\
Below are a question, its correct answer, and a language model's reasoning ending in a final \
answer. Decide only whether the final answer matches the correct answer; ignore the quality of \
the reasoning. Write 1 if it matches and 0 if it does not, between <ACCURACY> and </ACCURACY>, \
for example <ACCURACY>1</ACCURACY>."""

# The test-time critic of a multiple-choice solution (solution optimization).
TEMPLATES["task.critic_instruction"] = """\
Below are a multiple-choice question and a proposed solution. Review the solution as a careful \
expert: go through its reasoning step by step and point out every mistake or gap that could make \
the chosen option wrong. Be concise and do not write a new solution."""

TEMPLATES["task.critic_alternatives"] = """\
{critic_instruction} Also weigh each of the other options: say whether a case can be made that \
one of them is the right answer instead."""

# ---------------------------------------------------------------------------- objectives

# System prompt of the critic in test-time optimization of one value against a measured score
# (wordgrad.train.objective): code, molecules, treatment plans, answers.
TEMPLATES["objective.critic_system"] = """\
You review one candidate (a piece of text such as code, a molecule, a plan or an answer) that \
is being improved step by step against a measured objective. You are shown the task, the \
candidate, and what measuring it produced: a score where higher is better, and any messages \
the measurement reported. Explain concretely which parts of the candidate cause a low \
score or the reported problems, and what kind of change would raise the score. Refer to the \
measurements; do not invent results that were not reported. Do not write a new candidate."""

# What the critic receives: the task, the measurements and the candidate.
TEMPLATES["objective.critic_user"] = """\
{instruction}

<TASK>
{context}
</TASK>

<MEASUREMENT>
{measurement}
</MEASUREMENT>

<CANDIDATE>
{value}
</CANDIDATE>"""

# The default instruction at the head of each critique request.
TEMPLATES["objective.critic_instruction"] = """\
Review the candidate below in the light of its measurement. Name the weaknesses that cost the \
most score first, and be brief."""

# How a Score is shown to the critic.
TEMPLATES["objective.measurement"] = """\
score: {value} (higher is better)
{feedback}"""

TEMPLATES["objective.measurement_feedback"] = "messages from the measurement:\n{feedback}\n"

# Roles of the critic's frozen inputs.
TEMPLATES["objective.role_context"] = "task the candidate is for"
TEMPLATES["objective.role_measurement"] = "measurement of the candidate"
TEMPLATES["objective.role_instruction"] = "instruction to the reviewer"

# The LLM judge of one's own data (metric "judge"): grades a prediction against a rubric.
TEMPLATES["task.rubric_judge"] = """\
Below are the input a language model was given, the expected answer, and the model's \
prediction. Grade the prediction by this rubric:
<RUBRIC>
{rubric}
</RUBRIC>
First say briefly what the prediction does well and what it gets wrong by the rubric. Then give \
a whole number from 0 (fails the rubric) to 10 (meets it fully) between <SCORE> and </SCORE>, \
for example <SCORE>7</SCORE>."""

# The rubric when none is given.
TEMPLATES["task.rubric_default"] = """\
The prediction gives the same final answer as the expected answer, and its reasoning is sound."""

TEMPLATES.update(CODE_TEMPLATES)

# ---------------------------------------------------------------------------- molecules

# The task a molecule is optimized for, shown to the critic (wordgrad.train.molecule_optimization).
TEMPLATES["molecule.context"] = """\
Design a small-molecule drug candidate, written as one SMILES string, that binds the protein \
target {target} (a DOCKSTRING benchmark target) while staying drug-like. Binding is measured by \
the AutoDock Vina docking score in kcal/mol: more negative means stronger predicted binding. \
Drug-likeness is measured by QED, from 0 to 1: higher means more drug-like. Improve both; do not \
trade away drug-likeness for binding.{objectives}"""

# Extra goals the user gives, appended to the context.
TEMPLATES["molecule.objectives"] = "\nAlso: {objectives}"

# The role of the variable being optimized.
TEMPLATES["molecule.role"] = "SMILES string of a candidate drug molecule"

# The rule every new molecule must obey (a TGD constraint).
TEMPLATES["molecule.constraint"] = """\
The new value must be exactly one valid SMILES string of one molecule, with nothing else: no \
name, no explanation, no spaces."""

# The critic's instruction for molecules (replaces objective.critic_instruction).
TEMPLATES["molecule.critic_instruction"] = """\
Review the molecule below as a medicinal chemist, in the light of its measured docking score \
and drug-likeness. Name the structural features that most likely limit binding to the target \
or hurt drug-likeness, and suggest concrete chemical modifications (groups to add, remove or \
replace, rings to change) that should improve both. Be brief."""

# What measuring a molecule reports, shown to the critic and kept in the run log (numbers come
# formatted: QED to 3 decimals, weight and surface area to 1, logP to 2).
TEMPLATES["molecule.measured"] = """\
Measured by RDKit and AutoDock Vina for {smiles}:
{docking}
QED drug-likeness: {qed} (0 to 1, higher is more drug-like)
molecular weight {molecular_weight} g/mol, logP {logp}, H-bond donors {h_bond_donors}, \
H-bond acceptors {h_bond_acceptors}, rotatable bonds {rotatable_bonds}, polar surface area \
{tpsa} A^2, heavy atoms {heavy_atoms}, Lipinski rule-of-five violations {lipinski_violations}"""

TEMPLATES["molecule.docked"] = """\
Vina docking score against {target}: {score} kcal/mol (more negative binds more strongly)"""

TEMPLATES["molecule.not_docked"] = """\
Vina docking score against {target}: not measured, because {reason}"""

TEMPLATES["molecule.docking_off"] = "Vina docking score: not measured (docking is turned off)"

# An invalid SMILES: no measurement at all, only why.
TEMPLATES["molecule.invalid"] = """\
RDKit cannot read "{smiles}" as a molecule, so nothing was measured. RDKit says: {reason}
Write one valid SMILES string (balanced brackets, closed rings, atoms with possible valences)."""

# ---------------------------------------------------------------------------- radiotherapy plans

# Role of the variable in plan optimization (wordgrad.train.plan_optimization).
TEMPLATES["plan.weights_role"] = (
    "objective weights (priorities) of a radiotherapy plan's fluence optimization, one "
    "'structure: weight' line per structure"
)

# What the critic is told about a plan case: the instance's context.
TEMPLATES["plan.context"] = """\
Case: {description}
Prescription: {prescription} Gy to the target, {beams} photon beams spread evenly around the \
patient.

The fluence optimizer minimizes a weighted sum of these objectives:
{objectives}
The weights being tuned multiply the objectives of {weighted}; each counts relative to the \
others and to any fixed weight above. Raising the target's weight improves target coverage and \
homogeneity at the cost of organ doses; raising an organ's weight lowers its dose at the cost \
of coverage. After each change of the weights the fluence is optimized again and the plan is \
measured.

Clinical goals, in order of priority as listed:
{goals}"""

# Measurement feedback when the weights text could not be read (no plan was computed).
TEMPLATES["plan.weights_unreadable"] = "No plan was computed: {error}"

# ---------------------------------------------------------------------------- upstream names

# Pieces that upstream textgrad's prompt modules expose and that no wordgrad request uses; they
# keep user code that builds prompts from those names running (see prompts/upstream.py).

# The tags that feedback and update requests use, spelled out (upstream's glossaries). Our
# system prompts leave them out: the requests are short and the tags name themselves.
TEMPLATES["compat.gradient_glossary"] = """\
Tags: <SYSTEM_PROMPT> a call's system prompt, <INPUT> its input, <OUTPUT> the model's reply, \
<FUNCTION> a Python step and its purpose, <OBJECTIVE> what the output is judged by, \
<CRITICISM> feedback the output received, <VARIABLE> the variable itself, <EXAMPLES> examples \
to base the feedback on."""

TEMPLATES["compat.optimizer_glossary"] = """\
Tags: <ROLE> what the variable is for, <VARIABLE> its current text, <FEEDBACK> the feedback, \
<CALL> the call in which the variable was used, <PAST_FEEDBACK> feedback from earlier steps, \
<EARLIER_VERSIONS> earlier texts of the variable, <CONSTRAINTS> rules the new text must obey, \
<EXAMPLES> examples of good values."""

# Stands for the input of a multimodal call, which travels above the conversation as its parts.
TEMPLATES["compat.multimodal_input"] = "(the text and images sent above)"

# Feedback on a search query from the results it returned.
TEMPLATES["compat.search_query"] = """The query below was sent to the search engine {engine_name}:
<QUERY>
{query}
</QUERY>
It returned these results:
<RESULTS>
{results}
</RESULTS>"""

TEMPLATES["compat.search_results_feedback"] = """Feedback on what {engine_name} returned:
<FEEDBACK>
{results_gradient}
</FEEDBACK>"""

# ---------------------------------------------------------------------------- image tasks

# Opening line of each MathVista question (tasks.multimodal.mathvista).
TEMPLATES["task.mathvista_instruction"] = """\
Answer the maths question about the image below. Read the figure carefully and reason step \
by step before you answer."""

# Opening line of each ScienceQA question (tasks.multimodal.scienceqa).
TEMPLATES["task.scienceqa_instruction"] = """\
Answer the science question about the image below. Look at the image closely and reason step \
by step. End with a line of the form 'Answer: (X) option text', where X is the option's letter."""

# What the test-time critic of an image question is asked to do.
TEMPLATES["task.image_qa_evaluation"] = """\
Check the proposed answer against the image and the question. Point out misread details of \
the image and mistakes in the reasoning or arithmetic. Do not give the right answer yourself."""

# Pulling the final answer out of a free-form reply to a MathVista question, shown with examples.
TEMPLATES["task.answer_extraction_examples"] = """\
Read a model's reply to a question and write only its final answer, in the form the question \
asks for (an integer, a decimal with the stated precision, a list, or the text of an option).

Question: How many red blocks are left once the two small ones are removed?
Reply: There are five red blocks; two are small, so three remain. The answer is 3.
Extracted answer: 3

Question: What is the slope of the line, to one decimal place?
Reply: It rises 3 over a run of 2, so the slope is 1.5.
Extracted answer: 1.5

Question: Which shape has the largest area? Choices: (A) circle (B) square (C) triangle
Reply: Comparing them, the square covers the most space, so (B).
Extracted answer: square"""

TEMPLATES["task.answer_extraction"] = """\
{examples}

Question: {query}
Reply: {response}
Extracted answer: """
