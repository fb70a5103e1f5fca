"""AWS IAM rules (seed 004 and checkov's CKV_AWS IAM checks)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy

from policy.rules.common import AWS_ROLE, UNKNOWN, known

ADMINISTRATOR_ARN_SUFFIX = ":policy/AdministratorAccess"
ATTACHMENTS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "role",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "user",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "group",
    "aws:iam/policyAttachment:PolicyAttachment": "principals",
}


def role_permissions_boundary(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type != AWS_ROLE:
        return
    boundary = known(args.props, "permissionsBoundary")
    # Unknown during preview = the ARN of a policy created in the same update: it is set.
    if boundary is UNKNOWN:
        return
    if not boundary:
        report_violation(
            f"IAM role {known(args.props, 'name')} has no permissions boundary; set permissionsBoundary "
            "to the stack's boundary policy (region restriction, production protection)."
        )


def no_aws_administrator_access(args: ResourceValidationArgs, report_violation) -> None:
    if args.resource_type == AWS_ROLE:
        arns = known(args.props, "managedPolicyArns") or []
        arns = [] if arns is UNKNOWN else arns
    elif args.resource_type in ATTACHMENTS:
        arns = [known(args.props, "policyArn")]
    else:
        return
    for arn in arns:
        if isinstance(arn, str) and arn.startswith("arn:aws") and arn.endswith(ADMINISTRATOR_ARN_SUFFIX):
            report_violation(f"{arn} is attached; grant the use case's own managed policy instead.")


ROLE_PERMISSIONS_BOUNDARY = ResourceValidationPolicy(
    name="role-permissions-boundary",
    description="Every IAM role has a permissions boundary.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=role_permissions_boundary,
)
NO_AWS_ADMINISTRATOR_ACCESS = ResourceValidationPolicy(
    name="no-aws-administrator-access",
    description="No IAM role, user or group gets the AWS managed AdministratorAccess policy.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=no_aws_administrator_access,
)
