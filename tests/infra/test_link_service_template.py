"""The image-link service in the synthesized stack: its secret, function, public URL and grants."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TUNED

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cdk")]


def resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def only(template: dict, resource_type: str, contains: str) -> tuple[str, dict]:
    (match,) = [(lid, r) for lid, r in resources(template, resource_type).items() if contains in lid]
    return match


def function(template: dict, handler: str) -> tuple[str, dict]:
    (match,) = [
        (lid, r["Properties"])
        for lid, r in resources(template, "AWS::Lambda::Function").items()
        if r["Properties"]["Handler"] == handler
    ]
    return match


def role_statements(template: dict, role_lid: str) -> list[dict]:
    found = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_lid} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def actions(statement: dict) -> list[str]:
    value = statement["Action"]
    return sorted(value if isinstance(value, list) else [value])


def test_the_secret_holds_a_generated_key_and_names_it_current(template):
    _, secret = only(template, "AWS::SecretsManager::Secret", "Links")
    generated = secret["Properties"]["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {"current": "1"}
    assert (generated["GenerateStringKey"], generated["PasswordLength"]) == ("k1", 64)
    assert generated["ExcludePunctuation"] is True  # the key is plain text in JSON


def test_the_link_function_is_public_through_its_url_only_and_throttled(template, tuned_template):
    lid, props = function(template, "links.handler.lambda_handler")
    (url,) = resources(template, "AWS::Lambda::Url").values()
    assert url["Properties"] == {"AuthType": "NONE", "TargetFunctionArn": {"Fn::GetAtt": [lid, "Arn"]}}
    permissions = sorted(
        (p["Properties"]["Action"], p["Properties"]["Principal"], p["Properties"].get("FunctionUrlAuthType"))
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [lid, "Arn"]}
    )
    # both, as function URLs made since October 2025 need: anyone, but only through the URL
    assert permissions == [("lambda:InvokeFunction", "*", None), ("lambda:InvokeFunctionUrl", "*", "NONE")]
    (invoke,) = [
        p["Properties"]
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Action"] == "lambda:InvokeFunction"
        and p["Properties"]["FunctionName"] == {"Fn::GetAtt": [lid, "Arn"]}
    ]
    assert invoke["InvokedViaFunctionUrl"] is True
    assert props["ReservedConcurrentExecutions"] == 5
    assert "ReservedConcurrentExecutions" not in function(tuned_template, "links.handler.lambda_handler")[1]
    assert template["Outputs"]["LinkServiceUrl"]["Value"] == {
        "Fn::GetAtt": [next(iter(resources(template, "AWS::Lambda::Url"))), "FunctionUrl"]
    }


def test_the_link_function_reads_the_secret_results_and_input_images_only(template):
    _, props = function(template, "links.handler.lambda_handler")
    role = props["Role"]["Fn::GetAtt"][0]
    secret, _ = only(template, "AWS::SecretsManager::Secret", "Links")
    results, _ = only(template, "AWS::S3::Bucket", "Results")
    inputs, _ = only(template, "AWS::S3::Bucket", "InputBucket")
    granted = {
        (tuple(actions(s)), json.dumps(s["Resource"], sort_keys=True))
        for s in role_statements(template, role)
    }
    objects = lambda bucket, prefix: json.dumps(  # noqa: E731
        {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}*"]]}, sort_keys=True
    )
    assert granted - {g for g in granted if g[0][0].startswith("logs:")} == {
        (("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"), json.dumps({"Ref": secret})),
        (("s3:GetObject",), objects(results, "results/")),
        (("s3:GetObject", "s3:GetObjectVersion"), objects(inputs, "")),
    }
    assert all(s["Effect"] == "Allow" for s in role_statements(template, role))


def test_detect_signs_links_with_the_secret_for_the_url(template, tuned_template):
    lid, props = function(template, "detect.handler.lambda_handler")
    env = props["Environment"]["Variables"]
    (url_lid,) = resources(template, "AWS::Lambda::Url")
    secret, _ = only(template, "AWS::SecretsManager::Secret", "Links")
    assert env["IMAGE_LINKS"] == "true"
    assert env["LINK_BASE_URL"] == {"Fn::GetAtt": [url_lid, "FunctionUrl"]}
    assert env["LINK_SECRET_ARN"] == {"Ref": secret}
    assert env["IMAGE_LINK_DAYS"] == "7"
    detect_env = function(tuned_template, "detect.handler.lambda_handler")[1]["Environment"]["Variables"]
    assert detect_env["IMAGE_LINK_DAYS"] == str(TUNED["imageLinkDays"])
    role = props["Role"]["Fn::GetAtt"][0]
    reads = [s for s in role_statements(template, role) if "secretsmanager:GetSecretValue" in actions(s)]
    assert [s["Resource"] for s in reads] == [{"Ref": secret}]


def test_without_image_links_there_is_no_public_url_and_detect_signs_nothing():
    from labelwatch.local.template import synth_template

    template = synth_template({"imageLinks": False})
    for resource_type in ("AWS::Lambda::Url", "AWS::Lambda::Permission", "AWS::SecretsManager::Secret"):
        assert not resources(template, resource_type), resource_type
    env = function(template, "detect.handler.lambda_handler")[1]["Environment"]["Variables"]
    assert env["IMAGE_LINKS"] == "false" and "LINK_SECRET_ARN" not in env
    assert "LinkServiceUrl" not in template["Outputs"]
