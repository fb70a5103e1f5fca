"""The guides' action lists, transcribed from the seeds independently of
``baseline.documents`` so that a typo in either shows up as a difference in the tests."""

GUIDE_000_OOS = [
    "oos:StartExecution",
    "oos:ListExecutions",
    "oos:GetExecution",
    "oos:ListExecutionLogs",
    "oos:ListTaskExecutions",
    "oos:CancelExecution",
    "oos:ListTemplates",
    "oos:GetTemplate",
    "oos:ListPatchBaselines",
    "oos:GetPatchBaseline",
    "oos:ListInstancePatches",
    "oos:ListInstancePatchStates",
]
GUIDE_000_ECS = [
    "ecs:DescribeInstances",
    "ecs:DescribeInvocations",
    "ecs:DescribeInvocationResults",
    "ecs:InvokeCommand",
]
GUIDE_000_SNAPSHOT = ["ecs:CreateSnapshot", "ecs:DescribeSnapshots"]
GUIDE_001_ACTIONS = [
    "ecs:DescribeInstances",
    "ecs:DescribeTagKeys",
    "ecs:DescribeTags",
    "ecs:CreateCommand",
    "ecs:DescribeCommands",
    "ecs:InvokeCommand",
    "ecs:RunCommand",
    "ecs:DeleteCommand",
    "ecs:DescribeInvocations",
    "ecs:DescribeInvocationResults",
    "ecs:StopInvocation",
    "ecs:DescribeCloudAssistantStatus",
    "ecs:InstallCloudAssistant",
]
