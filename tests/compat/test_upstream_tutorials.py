"""Upstream's tutorials are the real clients: their flows, written with ``import wordgrad as tg``.

Each test follows the shape of one upstream tutorial (primitives, prompt optimization, solution
optimization), as users write it, against the scripted engine.
"""

from __future__ import annotations

import concurrent.futures

import wordgrad as tg

from .conftest import TutorialEngines


def test_primitives_tutorial_flow(tutorial_engines: TutorialEngines) -> None:
    engine = tg.get_engine(engine_name="gpt-4o")
    tg.set_backward_engine(engine, override=True)

    x = tg.Variable(
        "A sntence with a typo",
        role_description="The input sentence",
        requires_grad=True,
    )
    system_prompt = tg.Variable(
        "Evaluate the correctness of this sentence",
        role_description="The system prompt",
        requires_grad=False,
    )
    loss = tg.TextLoss(system_prompt, engine=engine)
    optimizer = tg.TGD(parameters=[x])
    result = loss(x)
    result.backward()
    optimizer.step()

    assert x.value.startswith("You are a careful counter")
    assert len(x.gradients) == 1
    assert x.gradients[0].get_role_description() == "feedback on the The input sentence"
    kinds = [r.system_prompt for r in tutorial_engines.created["gpt-4o"].requests]
    assert kinds[0] == "Evaluate the correctness of this sentence"
    assert len(kinds) == 3  # evaluation, feedback, update


def test_prompt_optimization_tutorial_flow(tutorial_engines: TutorialEngines) -> None:
    llm_api_eval = tg.get_engine(engine_name="gpt-4o")
    llm_api_test = tg.get_engine(engine_name="gpt-3.5-turbo-0125")
    tg.set_backward_engine(llm_api_eval, override=True)

    train_set, val_set, test_set, eval_fn = tg.tasks.load_task(
        "BBH_object_counting", evaluation_api=llm_api_eval
    )
    assert (len(train_set), len(val_set), len(test_set)) == (50, 100, 100)
    starting_prompt = train_set.get_task_description()
    system_prompt = tg.Variable(
        starting_prompt,
        requires_grad=True,
        role_description="structured system prompt to a somewhat capable language model "
        "that specifies the behavior and strategies for the QA task",
    )
    model = tg.BlackboxLLM(llm_api_test, system_prompt)
    optimizer = tg.TextualGradientDescent(engine=llm_api_eval, parameters=[system_prompt])

    def eval_sample(item, eval_fn, model):  # type: ignore[no-untyped-def]
        x, y = item
        x = tg.Variable(x, requires_grad=False, role_description="query to the language model")
        y = tg.Variable(y, requires_grad=False, role_description="correct answer for the query")
        response = model(x)
        eval_output_variable = eval_fn(inputs=dict(prediction=response, ground_truth_answer=y))
        return int(eval_output_variable.value)

    def eval_dataset(test_set, eval_fn, model, max_samples=10):  # type: ignore[no-untyped-def]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
            futures = [
                executor.submit(eval_sample, sample, eval_fn, model)
                for _, sample in zip(range(max_samples), test_set)
            ]
            return [future.result() for future in futures]

    val_before = eval_dataset(val_set, eval_fn, model)
    train_loader = tg.tasks.DataLoader(train_set, batch_size=3, shuffle=True)
    for steps, (batch_x, batch_y) in enumerate(train_loader):
        optimizer.zero_grad()
        losses = []
        for x, y in zip(batch_x, batch_y):
            x = tg.Variable(x, requires_grad=False, role_description="query to the language model")
            y = tg.Variable(y, requires_grad=False, role_description="correct answer for the query")
            response = model(x)
            eval_output_variable = eval_fn(inputs=dict(prediction=response, ground_truth_answer=y))
            losses.append(eval_output_variable)
        total_loss = tg.sum(losses)
        total_loss.backward()
        optimizer.step()
        if steps == 1:
            break

    assert "Answer: $VALUE" in system_prompt.value
    val_after = eval_dataset(val_set, eval_fn, model)
    assert len(val_before) == len(val_after) == 10
    assert set(val_before) <= {0, 1}
    # The scripted model always answers 8, so exactly the items whose answer is 8 count.
    expected = [1 if y == "8" else 0 for _, (x, y) in zip(range(10), val_set)]
    assert val_after == expected
    update_requests = [
        r for r in tutorial_engines.created["gpt-4o"].requests if r.purpose == "optimizer"
    ]
    assert len(update_requests) == 2
    # Feedback from all three examples of the batch reached the one update.
    assert update_requests[0].prompt.count("<FEEDBACK>") == 3


def test_solution_optimization_tutorial_flow(tutorial_engines: TutorialEngines) -> None:
    tg.set_backward_engine("gpt-4o", override=True)
    initial_solution = (
        "To solve the equation 3x^2 - 7x + 2 = 0, we use the quadratic formula: x = 3"
    )
    solution = tg.Variable(
        initial_solution,
        requires_grad=True,
        role_description="solution to the math question",
    )
    loss_system_prompt = tg.Variable(
        "You will evaluate a solution to a math question. Do not attempt to solve it yourself, "
        "do not give a solution, only identify errors. Be super concise.",
        requires_grad=False,
        role_description="system prompt",
    )
    loss_fn = tg.TextLoss(loss_system_prompt)
    optimizer = tg.TGD([solution])
    loss = loss_fn(solution)
    assert "not stated clearly" in loss.value
    loss.backward()
    optimizer.step()
    assert solution.value != initial_solution
    assert "quadratic formula" in tutorial_engines.created["gpt-4o"].requests[2].prompt
